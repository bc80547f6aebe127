/**
 * A record's content as a person reads it, per provider (the console's mirror of the providers' content
 * codecs): Tencent's `TIMTextElem` texts and `CloudCustomData`, Yunxin's `text` and `extension`; the rest
 * are the message's other elements. And the edit bodies the API takes for a text or custom-data change.
 */
type Content = Readonly<Record<string, unknown>>;

interface Element {
  readonly MsgType?: unknown;
  readonly MsgContent?: Readonly<Record<string, unknown>>;
}

const tencentElements = (content: Content): readonly Element[] =>
  Array.isArray(content.MsgBody) ? (content.MsgBody as Element[]) : [];

/** The custom-data field of a provider's content; none for a provider the console does not know. */
export function customDataField(provider: string): "CloudCustomData" | "extension" | undefined {
  if (provider === "tencent") return "CloudCustomData";
  if (provider === "netease") return "extension";
  return undefined;
}

export function textOf(provider: string, content: Content): string {
  if (provider === "tencent") {
    return tencentElements(content)
      .filter((element) => element.MsgType === "TIMTextElem")
      .map((element) => (typeof element.MsgContent?.Text === "string" ? element.MsgContent.Text : ""))
      .join("");
  }
  return typeof content.text === "string" ? content.text : "";
}

export function customDataOf(provider: string, content: Content): string {
  const field = customDataField(provider);
  const value = field === undefined ? undefined : content[field];
  return typeof value === "string" ? value : "";
}

export interface ElementView {
  readonly label: string;
  readonly value: string;
}

/** Everything but the text and the custom data: Tencent's other elements, Yunxin's other fields. */
export function elementsOf(provider: string, content: Content): ElementView[] {
  if (provider === "tencent") {
    return tencentElements(content)
      .filter((element) => element.MsgType !== "TIMTextElem")
      .map((element) => ({
        label: typeof element.MsgType === "string" ? element.MsgType : "element",
        value: JSON.stringify(element.MsgContent ?? {}, null, 2),
      }));
  }
  const skip = new Set(["text", customDataField(provider)]);
  return Object.entries(content)
    .filter(([name]) => !skip.has(name))
    .map(([label, value]) => ({
      label,
      value: typeof value === "string" ? value : JSON.stringify(value, null, 2),
    }));
}

/** Custom data laid out for reading and line diffs: JSON indented, anything else as it is. */
export function readableData(value: unknown): string {
  if (value === undefined || value === "") return "";
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

export interface ContentChange {
  readonly text?: string;
  readonly customData?: string;
}

/** The PATCH body for a change of text and/or custom data, or why the console cannot send it. */
export function editBody(
  provider: string,
  change: ContentChange,
): { body: Record<string, unknown> } | { problem: string } {
  const body: Record<string, unknown> = {};
  if (change.text !== undefined) body.text = change.text;
  if (change.customData !== undefined) {
    const field = customDataField(provider);
    if (field === undefined) return { problem: `The console cannot edit ${provider}'s custom data.` };
    body[field] = change.customData;
  }
  if (Object.keys(body).length === 0)
    return { problem: "Nothing changed: edit the text or the custom data first." };
  return { body };
}
