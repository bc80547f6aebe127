import { createHash } from "node:crypto";
import type { Signing } from "../common/sender.ts";
import type { MessageRecord, Team } from "./store.ts";

/**
 * 消息抄送 (message copies, notes §3.2): the body format, the signature, and the delivery.
 * Written here rather than imported from functions/ so that a bug there cannot hide.
 */

/** A copy body: every value a string, as Yunxin sends them. */
export type CopyBody = Readonly<Record<string, string>>;

export function md5Hex(body: string | Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

/** `CheckSum` of a copy: lower-case hex SHA1 of AppSecret + MD5 + CurTime (CurTime in milliseconds). */
export function copyCheckSum(appSecret: string, md5: string, curTime: string): string {
  return createHash("sha1")
    .update(appSecret + md5 + curTime, "utf8")
    .digest("hex");
}

const CONV_TYPES = { 1: "PERSON", 2: "TEAM", 3: "SUPER_TEAM" } as const;

/** v2 message_type → the copy's msgType (notes §3.2, §4). */
export const MSG_TYPES: Readonly<Record<number, string>> = {
  0: "TEXT",
  1: "PICTURE",
  2: "AUDIO",
  3: "VIDEO",
  4: "LOCATION",
  6: "FILE",
  10: "TIPS",
  100: "CUSTOM",
};

/**
 * The eventType "1" copy of a message in its current state (after an edit: the new body/attach/ext, the
 * original ids and msgTimestamp; Yunxin documents no field marking an update, so there is none). Keys in
 * alphabetical order like the documented examples; `attach`, `ext` and `tMembers` only when there is one.
 */
export function messageCopy(record: MessageRecord, team: Team | undefined): CopyBody {
  const body: Record<string, string> = {};
  if (record.attachmentJson !== undefined) body.attach = record.attachmentJson;
  body.body = record.text ?? "";
  body.convType = CONV_TYPES[record.conversation_type];
  body.eventType = "1";
  if (record.extension !== undefined) body.ext = record.extension;
  body.fromAccount = record.sender_id;
  body.fromClientType = "REST";
  body.msgTimestamp = String(record.create_time);
  body.msgType = MSG_TYPES[record.message_type] ?? "CUSTOM";
  body.msgidClient = record.message_client_id;
  body.msgidServer = record.message_server_id;
  body.resendFlag = "0";
  // tMembers: TEAM only, teams of at most 200 members (§3.2), formatted like the doc's "[zhangsan, lisi]".
  if (record.conversation_type === 2 && team !== undefined && team.members.length <= 200) {
    body.tMembers = `[${team.members.join(", ")}]`;
  }
  body.to = record.receiver_id;
  return body;
}

/**
 * The eventType "7" (P2P) / "8" (team, super team) recall copy. Yunxin's format is UNCONFIRMED (notes
 * §3.2); this is the "recall API parameters" reading (test/fixtures/netease/synthetic-recall-p2p.json):
 * deleteMsgid and timetag of the recalled message, from = who recalled, to = receiver accid or tid.
 */
export function recallCopy(record: MessageRecord, recalledBy: string, msg: string | undefined): CopyBody {
  const body: Record<string, string> = {
    deleteMsgid: record.message_server_id,
    eventType: record.conversation_type === 1 ? "7" : "8",
    from: recalledBy,
  };
  if (msg !== undefined) body.msg = msg;
  body.timetag = String(record.create_time);
  body.to = record.receiver_id;
  return body;
}

export interface CopySigningOptions {
  readonly appKey: string;
  readonly appSecret: string;
  readonly now: () => number;
  readonly delivered: () => void;
  readonly failed: () => void;
}

/**
 * Copies posted as Yunxin does (by the shared Sender: one configured URL, one attempt, 2 s): JSON body,
 * headers AppKey / CurTime (ms) / MD5 / CheckSum. Yunxin's retry policy is UNCONFIRMED. Delivered =
 * HTTP 200; the answer body is read and otherwise ignored.
 */
export function copySigning(options: CopySigningOptions): Signing<CopyBody> {
  const { appKey, appSecret, now } = options;
  return {
    post(url, body) {
      const bytes = Buffer.from(JSON.stringify(body), "utf8");
      const md5 = md5Hex(bytes);
      const curTime = String(now());
      return {
        url,
        headers: {
          "content-type": "application/json",
          AppKey: appKey,
          CurTime: curTime,
          MD5: md5,
          CheckSum: copyCheckSum(appSecret, md5, curTime),
        },
        body: bytes,
      };
    },
    accepts: () => true,
    delivered: options.delivered,
    failed: options.failed,
  };
}
