import { type ContentCodec, parseCustomData } from "../../core/codec.ts";

/**
 * Yunxin content: `text`, `attachment` (an object) and `extension` (a string, JSON by convention: the
 * app's custom data, Yunxin's `ext`).
 */
export const neteaseCodec: ContentCodec = {
  text: (content) => (typeof content.text === "string" ? content.text : ""),
  withText: (content, text) => ({ ...content, text }),
  customData: (content) => parseCustomData(content.extension),
  hasCustomData: (content) => content.extension !== undefined && content.extension !== "",
  withCustomData: (content, data) => {
    const { extension: _old, ...rest } = content;
    return data === undefined ? rest : { ...rest, extension: JSON.stringify(data) };
  },
};
