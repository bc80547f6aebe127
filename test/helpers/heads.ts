import { type Content, contentHash, type MessageHead } from "../../functions/core/model.ts";

/** A sent Tencent C2C message head at version 1 (in the head, as stored) with this content (tests override what they need). */
export function c2cHead(content: Content, overrides: Partial<MessageHead> = {}): MessageHead {
  return {
    id: "c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa",
    provider: "tencent",
    appId: "1400000000",
    kind: "c2c",
    key: { from: "a", to: "b", msgKey: "1_2_3" },
    conversation: "c2c:a:b",
    state: "sent",
    version: 1,
    content,
    contentHash: contentHash(content),
    createdAt: "2026-06-01T00:00:00.000Z",
    updatedAt: "2026-06-01T00:00:00.000Z",
    rev: 1,
    first: {
      version: 1,
      content,
      contentHash: contentHash(content),
      source: "callback",
      at: "2026-06-01T00:00:00.000Z",
    },
    ...overrides,
  };
}
