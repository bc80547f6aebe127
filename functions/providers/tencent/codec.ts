import { type ContentCodec, parseCustomData } from "../../core/codec.ts";
import type { Content } from "../../core/model.ts";

interface Element {
  readonly MsgType?: unknown;
  readonly MsgContent?: Readonly<Record<string, unknown>>;
}

const elements = (content: Content): readonly Element[] =>
  Array.isArray(content.MsgBody) ? (content.MsgBody as Element[]) : [];

/**
 * Tencent content: `MsgBody` (TIMMsgElement[]) and `CloudCustomData` (a string, JSON by convention).
 * The text is the `TIMTextElem`s' `Text`, in order; replacing it works as an edit `{ "text" }` does:
 * the first text element takes it, other text elements go, everything else stays.
 */
export const tencentCodec: ContentCodec = {
  text: (content) =>
    elements(content)
      .filter((element) => element.MsgType === "TIMTextElem")
      .map((element) => (typeof element.MsgContent?.Text === "string" ? element.MsgContent.Text : ""))
      .join(""),
  withText: (content, text) => {
    const body = elements(content);
    const first = body.findIndex((element) => element.MsgType === "TIMTextElem");
    const MsgBody =
      first === -1
        ? [...body, { MsgType: "TIMTextElem", MsgContent: { Text: text } }]
        : body.flatMap((element, index) => {
            if (element.MsgType !== "TIMTextElem") return [element];
            return index === first ? [{ ...element, MsgContent: { ...element.MsgContent, Text: text } }] : [];
          });
    return { ...content, MsgBody };
  },
  customData: (content) => parseCustomData(content.CloudCustomData),
  hasCustomData: (content) => content.CloudCustomData !== undefined && content.CloudCustomData !== "",
  withCustomData: (content, data) => {
    const { CloudCustomData: _old, ...rest } = content;
    return data === undefined ? rest : { ...rest, CloudCustomData: JSON.stringify(data) };
  },
};
