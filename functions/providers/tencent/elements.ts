import * as z from "../../zod.ts";

/**
 * TIMMsgElement kinds the REST API accepts, with the fields it requires (tencent-chat-notes §6).
 * Edits are checked against these before anything is sent, so Tencent's 90002 becomes our 422.
 * Extra fields are kept: Tencent may add some, and a restore must send elements back whole.
 */
const str = z.string();
const nonEmpty = z.string().check(z.minLength(1));
const num = z.number();
const flag2 = z.literal(2);

const contents = {
  TIMTextElem: z.looseObject({ Text: str }),
  TIMLocationElem: z.looseObject({ Desc: str, Latitude: num, Longitude: num }),
  TIMFaceElem: z.looseObject({ Index: num, Data: str }),
  TIMCustomElem: z.looseObject({
    Data: str,
    Desc: z.optional(str),
    Ext: z.optional(str),
    Sound: z.optional(str),
  }),
  TIMSoundElem: z.looseObject({
    Url: nonEmpty,
    UUID: nonEmpty,
    Size: num,
    Second: num,
    Download_Flag: flag2,
  }),
  TIMImageElem: z.looseObject({
    UUID: nonEmpty,
    ImageFormat: num,
    ImageInfoArray: z
      .array(z.looseObject({ Type: num, Size: num, Width: num, Height: num, URL: nonEmpty }))
      .check(z.minLength(1)),
  }),
  TIMFileElem: z.looseObject({
    Url: nonEmpty,
    UUID: nonEmpty,
    FileSize: num,
    FileName: str,
    Download_Flag: flag2,
  }),
  TIMVideoFileElem: z.looseObject({
    VideoUrl: nonEmpty,
    VideoUUID: nonEmpty,
    VideoSize: num,
    VideoSecond: num,
    VideoFormat: str,
    VideoDownloadFlag: flag2,
    ThumbUrl: nonEmpty,
    ThumbUUID: nonEmpty,
    ThumbSize: num,
    ThumbWidth: num,
    ThumbHeight: num,
    ThumbFormat: str,
    ThumbDownloadFlag: flag2,
  }),
} as const;

export type ElementKind = keyof typeof contents;
export const ELEMENT_KINDS = Object.keys(contents) as ElementKind[];

/** A message is at most 12 KB (80002 / 93000); counted over the JSON of MsgBody plus CloudCustomData. */
export const MAX_CONTENT_BYTES = 12 * 1024;

/** Problems that would make Tencent refuse this MsgBody, one line each; empty when it is fine. */
export function elementProblems(body: readonly unknown[]): string[] {
  const problems: string[] = [];
  let custom = 0;
  body.forEach((element, index) => {
    const { MsgType: type, MsgContent: content } = (element ?? {}) as {
      MsgType?: unknown;
      MsgContent?: unknown;
    };
    if (typeof type !== "string" || !Object.hasOwn(contents, type)) {
      problems.push(
        `MsgBody[${index}]: MsgType ${JSON.stringify(type)} is not one of ${ELEMENT_KINDS.join(", ")}`,
      );
      return;
    }
    if (type === "TIMCustomElem") custom++;
    const parsed = z.safeParse(contents[type as ElementKind], content);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "MsgContent"))];
      problems.push(`MsgBody[${index}] (${type}): missing or invalid ${fields.join(", ")}`);
    }
  });
  if (custom > 1) problems.push("MsgBody may hold only one TIMCustomElem");
  return problems;
}

export function contentBytes(
  msgBody: readonly unknown[] | undefined,
  cloudCustomData: string | undefined,
): number {
  return (
    (msgBody ? Buffer.byteLength(JSON.stringify(msgBody)) : 0) +
    (cloudCustomData ? Buffer.byteLength(cloudCustomData) : 0)
  );
}
