import type { Content } from "./model.ts";

/**
 * A provider's content, read and written without knowing its shape: what rules, selectors and diffs
 * use (the text a person reads, and the app's own structured data riding on the message). Tencent:
 * the `TIMTextElem`s of `MsgBody` and the JSON in `CloudCustomData`; Yunxin: `text` and the JSON in
 * `extension`. Pure functions of the content: no I/O, no AWS or HTTP types.
 */
export interface ContentCodec {
  /** The message's text as a person reads it; "" when it has none (an image, a custom element). */
  text(content: Content): string;
  /** The content with its text replaced; everything else is kept (what an edit `{ "text" }` does). */
  withText(content: Content, text: string): Content;
  /**
   * The app's custom data parsed as a JSON object; undefined when there is none or it is not a JSON
   * object (a plain string is the app's business, not a selector's).
   */
  customData(content: Content): Record<string, unknown> | undefined;
  /** The content with its custom data replaced (serialized as JSON); undefined clears it. */
  withCustomData(content: Content, data: Record<string, unknown> | undefined): Content;
  /**
   * Whether the content carries custom data at all, JSON or not (an empty string is none): tells "no
   * custom data" (a rule's merge starts from `{}`) from "not a JSON object" (the merge skips it).
   */
  hasCustomData?(content: Content): boolean;
}

/** Parses a custom-data string into a JSON object, or undefined (not JSON, or not an object). */
export function parseCustomData(raw: unknown): Record<string, unknown> | undefined {
  if (typeof raw !== "string" || raw === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
