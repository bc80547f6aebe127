import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash, MESSAGE_ID_PATTERN, messageId } from "../../../functions/core/model.ts";

describe("messageId", () => {
  it("is deterministic, URL-safe and prefixed", () => {
    // Prepare
    const parts = ["tencent", "1400000000", "c2c", "jared", "Jonh", "48374_2837546_1557481126"];
    // Act
    const id = messageId("c2c", parts);
    // Assess
    expect(id).toBe(messageId("c2c", [...parts]));
    expect(id).toMatch(MESSAGE_ID_PATTERN);
    expect(encodeURIComponent(id)).toBe(id);
  });

  it("separates parts unambiguously (no concatenation collisions)", () => {
    expect(messageId("c2c", ["a", "bc"])).not.toBe(messageId("c2c", ["ab", "c"]));
  });

  it("gives distinct natural keys distinct ids", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
        fc.string({ minLength: 1 }),
        (parts, extra) => {
          expect(messageId("x", parts)).not.toBe(messageId("x", [...parts, extra]));
        },
      ),
    );
  });
});

describe("contentHash", () => {
  it("ignores key order and undefined fields", () => {
    const a = { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi" } }], CloudCustomData: "x" };
    const b = {
      CloudCustomData: "x",
      MsgBody: [{ MsgContent: { Text: "hi" }, MsgType: "TIMTextElem" }],
      Extra: undefined,
    };
    expect(contentHash(a)).toBe(contentHash(b));
    expect(canonicalJson(b)).toBe(
      '{"CloudCustomData":"x","MsgBody":[{"MsgContent":{"Text":"hi"},"MsgType":"TIMTextElem"}]}',
    );
  });

  it("tells different content apart", () => {
    expect(contentHash({ CloudCustomData: "a" })).not.toBe(contentHash({ CloudCustomData: "b" }));
  });
});
