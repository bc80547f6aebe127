import { BadRequestError } from "./core/errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Parses raw request bytes as JSON whatever the Content-Type said; bad bytes or syntax are a 400. */
export function parseJsonBody(
  body: Uint8Array,
  reviver?: (key: string, value: unknown, context?: { source?: string }) => unknown,
): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BadRequestError("body is not valid UTF-8", { code: "invalid_json" });
  }
  if (text.trim() === "") throw new BadRequestError("body is empty", { code: "invalid_json" });
  try {
    return JSON.parse(text, reviver as ((key: string, value: unknown) => unknown) | undefined);
  } catch (thrown: unknown) {
    const reason = thrown instanceof SyntaxError ? thrown.message : "unparseable";
    throw new BadRequestError(`body is not valid JSON: ${reason}`, { code: "invalid_json" });
  }
}
