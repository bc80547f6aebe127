import { describe, expect, it } from "vitest";
import { customDataOf, editBody, elementsOf, readableData, textOf } from "../../../console/src/content.ts";
import { neteaseCodec } from "../../../functions/providers/netease/codec.ts";
import { tencentCodec } from "../../../functions/providers/tencent/codec.ts";

const tencent = {
  MsgBody: [
    { MsgType: "TIMTextElem", MsgContent: { Text: "hello " } },
    { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "smile" } },
    { MsgType: "TIMTextElem", MsgContent: { Text: "world" } },
  ],
  CloudCustomData: '{"lang":"en"}',
};
const netease = {
  text: "hi",
  extension: '{"a":1}',
  attachment: { url: "https://example.com/x.png" },
  type: 1,
};

describe("console content", () => {
  it("reads text and custom data as the providers' codecs do", () => {
    // Act + Assess
    expect(textOf("tencent", tencent)).toBe(tencentCodec.text(tencent));
    expect(textOf("netease", netease)).toBe(neteaseCodec.text(netease));
    expect(JSON.parse(customDataOf("tencent", tencent))).toEqual(tencentCodec.customData(tencent));
    expect(JSON.parse(customDataOf("netease", netease))).toEqual(neteaseCodec.customData(netease));
    expect(textOf("tencent", {})).toBe("");
    expect(customDataOf("netease", { text: "x" })).toBe("");
  });

  it("lists the other elements: Tencent's non-text elements, Yunxin's other fields", () => {
    // Act + Assess
    expect(elementsOf("tencent", tencent)).toEqual([
      { label: "TIMFaceElem", value: JSON.stringify({ Index: 1, Data: "smile" }, null, 2) },
    ]);
    expect(elementsOf("netease", netease).map((element) => element.label)).toEqual(["attachment", "type"]);
  });

  it("lays JSON custom data out for reading, and leaves anything else as it is", () => {
    // Act + Assess
    expect(readableData('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(readableData({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(readableData("not json")).toBe("not json");
    expect(readableData(undefined)).toBe("");
  });

  it("builds the PATCH body: text for both, the provider's custom-data field", () => {
    // Act + Assess
    expect(editBody("tencent", { text: "a", customData: "{}" })).toEqual({
      body: { text: "a", CloudCustomData: "{}" },
    });
    expect(editBody("netease", { customData: "{}" })).toEqual({ body: { extension: "{}" } });
    expect(editBody("tencent", {})).toEqual({ problem: expect.stringMatching(/Nothing changed/) });
    expect(editBody("other", { customData: "x" })).toEqual({ problem: expect.stringMatching(/custom data/) });
  });
});
