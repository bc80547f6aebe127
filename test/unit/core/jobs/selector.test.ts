import { describe, expect, it } from "vitest";
import { listQueryOf, MessageFilter, sendTimeBounds } from "../../../../functions/core/jobs/selector.ts";
import type { MessageHead } from "../../../../functions/core/model.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";

const head = (text: string, extra: Partial<MessageHead> = {}): MessageHead => ({
  id: "c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa",
  provider: "tencent",
  appId: "1400000000",
  kind: "c2c",
  key: {},
  conversation: "c2c:a:b",
  state: "sent",
  version: 1,
  content: { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }] },
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  rev: 1,
  ...extra,
});

describe("job selector", () => {
  it("turns [since, until) at one-second precision into the store's inclusive bounds", () => {
    // Prepare / Act
    const bounds = sendTimeBounds({ since: "2026-01-01T00:00:00.700Z", until: "2026-01-01T00:00:05.300Z" });
    // Assess: since floored to its second; until's second is out (a send at 00:00:05 has MsgTime 5 s)
    expect(bounds).toEqual({ since: "2026-01-01T00:00:00.000Z", until: "2026-01-01T00:00:04.999Z" });
    expect(sendTimeBounds({})).toEqual({});
  });

  it("lists what the selector names and nothing it does not", () => {
    const query = listQueryOf(
      { provider: "tencent", appId: "1400000000", sender: "alice", text: "x" },
      { limit: 100, nextToken: "t" },
    );
    expect(query).toEqual({
      provider: "tencent",
      appId: "1400000000",
      sender: "alice",
      limit: 100,
      nextToken: "t",
    });
  });

  it("filters by the text pattern and the work's own condition, never a provisional record", () => {
    // Prepare
    const pattern = { test: (text: string) => text.includes("phone") };
    const filter = new MessageFilter(tencentCodec, pattern, (candidate) => candidate.sender !== "bot");
    // Act / Assess
    expect(filter.matches(head("my phone is"))).toBe(true);
    expect(filter.matches(head("nothing here"))).toBe(false);
    expect(filter.matches(head("my phone is", { sender: "bot" }))).toBe(false);
    expect(filter.matches(head("my phone is", { resolvedId: "group_bbbbbbbbbbbbbbbbbbbbbbbbbb" }))).toBe(
      false,
    );
    expect(new MessageFilter(tencentCodec, undefined, undefined).matches(head(""))).toBe(true);
  });
});
