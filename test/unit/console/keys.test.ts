import { describe, expect, it } from "vitest";
import { parseMessageRef } from "../../../console/src/keys.ts";

describe("parseMessageRef", () => {
  it("takes an im-edit id as an id, whatever the provider", () => {
    // Act + Assess
    expect(parseMessageRef(" c2c_3kk3ymeh3bilp4bnx5mwsbu5xv ", "netease")).toEqual({
      kind: "id",
      id: "c2c_3kk3ymeh3bilp4bnx5mwsbu5xv",
    });
    expect(parseMessageRef("nim_aaaaaaaaaaaaaaaaaaaaaaaaaa", "tencent").kind).toBe("id");
  });

  it("takes the README's lookup parameters as a query string", () => {
    // Act + Assess
    expect(parseMessageRef("msgKey=1_2_3&from=alice&to=bob", "tencent")).toEqual({
      kind: "key",
      params: { msgKey: "1_2_3", from: "alice", to: "bob" },
    });
    expect(parseMessageRef("?groupId=%40TGS%231&msgSeq=5&topicId=", "tencent")).toEqual({
      kind: "key",
      params: { groupId: "@TGS#1", msgSeq: "5", topicId: "" },
    });
    expect(parseMessageRef("msgId=158844553334358020", "netease")).toEqual({
      kind: "key",
      params: { msgId: "158844553334358020" },
    });
  });

  it("refuses parameters that are not key parameters, naming them", () => {
    // Act
    const ref = parseMessageRef("msgKey=1_2_3&appId=x", "tencent");
    // Assess
    expect(ref.kind).toBe("invalid");
    expect(ref.kind === "invalid" && ref.reason).toContain('"appId"');
  });

  it("reads a bare MsgKey on Tencent and a bare message server id on Yunxin", () => {
    // Act + Assess
    expect(parseMessageRef("2479634310_2239839233_1795439227", "tencent")).toEqual({
      kind: "key",
      params: { msgKey: "2479634310_2239839233_1795439227" },
    });
    expect(parseMessageRef("158844553334358020", "netease")).toEqual({
      kind: "key",
      params: { msgId: "158844553334358020" },
    });
    expect(parseMessageRef("158844553334358020", "tencent").kind).toBe("invalid");
  });

  it("says what to paste when the input is empty or not a reference", () => {
    // Act + Assess
    expect(parseMessageRef("  ", "tencent")).toEqual({
      kind: "invalid",
      reason: "Enter a message id or key.",
    });
    const ref = parseMessageRef("hello", "tencent");
    expect(ref.kind === "invalid" && ref.reason).toMatch(/paste an id/);
  });
});
