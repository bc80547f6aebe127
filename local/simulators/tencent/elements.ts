import { z } from "zod";
import { Code, TencentError } from "./errors.ts";

/** One TIMMsgElement as stored and echoed back (tencent-chat-notes §6). */
export interface MsgElement {
  readonly MsgType: string;
  readonly MsgContent: Readonly<Record<string, unknown>>;
}

const count = z.number().int().min(0);
const text = z.string();
const url = z.string().min(1);
/** REST senders of sound/file/video must set the download flag to 2 (§6 notes). */
const downloadable = z.literal(2);

/**
 * The element kinds REST can send (§6), with the MsgContent fields each needs. Unknown extra fields are
 * kept, as Tencent stores what it is given. `TIMRelayElem` and group tips are client-only, so refused.
 */
const CONTENT: Readonly<Record<string, z.ZodType>> = {
  TIMTextElem: z.looseObject({ Text: text }),
  TIMLocationElem: z.looseObject({ Desc: text, Latitude: z.number(), Longitude: z.number() }),
  TIMFaceElem: z.looseObject({ Index: z.number().int(), Data: text }),
  TIMCustomElem: z.looseObject({
    Data: text,
    Desc: text.optional(),
    Ext: text.optional(),
    Sound: text.optional(),
  }),
  TIMSoundElem: z.looseObject({
    Url: url,
    UUID: url,
    Size: count,
    Second: count,
    Download_Flag: downloadable,
  }),
  TIMImageElem: z.looseObject({
    UUID: url,
    ImageFormat: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(255)]),
    ImageInfoArray: z
      .array(
        z.looseObject({
          Type: z.union([z.literal(1), z.literal(2), z.literal(3)]),
          Size: count,
          Width: count,
          Height: count,
          URL: url,
        }),
      )
      .min(1),
  }),
  TIMFileElem: z.looseObject({
    Url: url,
    UUID: url,
    FileSize: count,
    FileName: text,
    Download_Flag: downloadable,
  }),
  TIMVideoFileElem: z.looseObject({
    VideoUrl: url,
    VideoUUID: url,
    VideoSize: count,
    VideoSecond: count,
    VideoFormat: text,
    VideoDownloadFlag: downloadable,
    ThumbUrl: url,
    ThumbUUID: url,
    ThumbSize: count,
    ThumbWidth: count,
    ThumbHeight: count,
    ThumbFormat: text,
    ThumbDownloadFlag: downloadable,
  }),
};

/**
 * Validates a request's `MsgBody`: an Array (else 90007) of known, complete elements with at most one
 * TIMCustomElem (else 90002). Returns a deep copy, so later changes to the request cannot reach the store.
 */
export function parseMsgBody(value: unknown): MsgElement[] {
  if (!Array.isArray(value)) throw new TencentError(Code.msgBodyNotArray, "MsgBody is not an Array");
  if (value.length === 0) throw new TencentError(Code.msgBodyFormat, "MsgBody has no element");
  let customs = 0;
  const elements = value.map((element: unknown, index): MsgElement => {
    const where = `MsgBody[${index}]`;
    if (element === null || typeof element !== "object" || Array.isArray(element)) {
      throw new TencentError(Code.msgBodyFormat, `${where} is not a TIMMsgElement object`);
    }
    const { MsgType: type, MsgContent: content } = element as Record<string, unknown>;
    const schema = typeof type === "string" ? CONTENT[type] : undefined;
    if (schema === undefined) {
      throw new TencentError(Code.msgBodyFormat, `${where}.MsgType ${JSON.stringify(type)} is not supported`);
    }
    const parsed = schema.safeParse(content);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.length ? `.${issue.path.join(".")}` : "";
      throw new TencentError(
        Code.msgBodyFormat,
        `${where}.MsgContent${field} is invalid for ${String(type)}: ${issue?.message ?? "bad value"}`,
      );
    }
    if (type === "TIMCustomElem") customs += 1;
    return { MsgType: type as string, MsgContent: structuredClone(content as Record<string, unknown>) };
  });
  if (customs > 1) throw new TencentError(Code.msgBodyFormat, "a message may carry only one TIMCustomElem");
  return elements;
}
