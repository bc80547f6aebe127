import type { ContentCodec } from "../codec.ts";
import type { Content } from "../model.ts";

/**
 * A dry run shows at most this many messages; text and custom data are cut to keep the job item small:
 * by UTF-8 bytes, as the store counts them (280 CJK characters are 840 bytes), so 100 items before and
 * after stay under ~200 KB of DynamoDB's 400 KB item.
 */
export const PREVIEW_LIMIT = 100;
const PREVIEW_TEXT_BYTES = 400;
const PREVIEW_DATA_BYTES = 500;

/** Text and custom data as a person reads them, cut to keep the preview small. */
export function readable(codec: ContentCodec, content: Content): Record<string, unknown> {
  const text = codec.text(content);
  const data = codec.customData(content);
  const json = data === undefined ? undefined : JSON.stringify(data);
  return {
    text: cutUtf8(text, PREVIEW_TEXT_BYTES),
    ...(json === undefined
      ? {}
      : {
          customData: Buffer.byteLength(json) > PREVIEW_DATA_BYTES ? cutUtf8(json, PREVIEW_DATA_BYTES) : data,
        }),
  };
}

/** `value` within `maxBytes` of UTF-8 (an ellipsis when cut), never splitting a character. */
function cutUtf8(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) <= maxBytes) return value;
  let bytes = 3; // the ellipsis
  let end = 0;
  for (const char of value) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return `${value.slice(0, end)}…`;
}
