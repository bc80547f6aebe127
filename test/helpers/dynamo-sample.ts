import { createHash } from "node:crypto";
import { contentHash, type MessageHead, messageId } from "../../functions/core/model.ts";

/**
 * A short text message as the recorder records a Tencent C2C after-send (test/fixtures/tencent/
 * c2c-after-send.json): the whole natural key, version 1 in the head. The storage layout's size and
 * capacity goals are measured on it.
 */
export function shortTextHead(text = "hello", n = 0): MessageHead {
  const msgKey = `48374_2837546_${1557481126 + n}`;
  const appId = "1400000000";
  const id = messageId("c2c", ["tencent", appId, "Jonh", "jared", msgKey]);
  const content = { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }] };
  const hash = contentHash(content);
  const sentAt = new Date((1557481126 + n) * 1000).toISOString();
  const eventAt = 1670574414123 + n;
  const eventKey = createHash("sha256").update(`callback ${n}`).digest("base64url");
  return {
    id,
    provider: "tencent",
    appId,
    kind: "c2c",
    key: {
      from: "jared",
      to: "Jonh",
      msgKey,
      msgSeq: "48374",
      msgRandom: "2837546",
      msgTime: String(1557481126 + n),
      msgId: "144115233406643804-1727580296-4026038328",
    },
    conversation: "c2c:Jonh:jared",
    sender: "jared",
    lookupKey: `c2c|${msgKey}`,
    state: "sent",
    version: 1,
    content,
    contentHash: hash,
    eventAt,
    createdAt: sentAt,
    updatedAt: "2026-06-01T08:00:00.123Z",
    rev: 1,
    first: {
      version: 1,
      content,
      contentHash: hash,
      source: "callback",
      actor: "jared",
      at: sentAt,
      eventAt,
      eventKey,
    },
  };
}
