import { describe, expect, it } from "vitest";
import { BadRequestError, UnprocessableError } from "../../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import type { MessageHead } from "../../../../functions/core/model.ts";
import { createTencentEditor, replaceText } from "../../../../functions/providers/tencent/editor.ts";
import { TencentRestClient } from "../../../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../../../functions/providers/tencent/usersig.ts";
import { c2cHead } from "../../../helpers/heads.ts";

const text = (value: string) => ({ MsgType: "TIMTextElem", MsgContent: { Text: value } });
const face = { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "smile" } };
const oldSound = { MsgType: "TIMSoundElem", MsgContent: { UUID: "u", Size: 1, Second: 1 } }; // 2.x SDKs: no Url

const editor = createTencentEditor({
  sdkAppId: "1400000000",
  rest: new TencentRestClient({
    baseUrl: "http://127.0.0.1:9",
    sdkAppId: "1400000000",
    identifier: "administrator",
    userSig: new UserSigCache("1400000000", "k", "administrator"),
    limiter: new SlidingWindowLimiter(() => ({ limit: 1, windowMs: 1 })),
  }),
});

const head = (content: Record<string, unknown>): MessageHead => c2cHead(content);

describe("replaceText", () => {
  it("puts the text into the first text element, drops other text elements and keeps the rest", () => {
    expect(replaceText([text("a"), face, text("b")], "new")).toEqual([text("new"), face]);
  });
  it("appends a text element when there is none", () => {
    expect(replaceText([face], "new")).toEqual([face, text("new")]);
  });
});

describe("tencent editor", () => {
  it("plans a text edit: the whole new content, sending only MsgBody", () => {
    const plan = editor.plan(
      head({ MsgBody: [text("old"), face], CloudCustomData: "c" }),
      editor.parseChange({ text: "new" }),
    );
    expect(plan.send).toEqual({ MsgBody: [text("new"), face] });
    expect(plan.content).toEqual({ MsgBody: [text("new"), face], CloudCustomData: "c" });
  });

  it("sends CloudCustomData alone when only it changes (old elements are not resent)", () => {
    const plan = editor.plan(head({ MsgBody: [oldSound] }), editor.parseChange({ CloudCustomData: "x" }));
    expect(plan.send).toEqual({ CloudCustomData: "x" });
  });

  it.each([
    ["an empty body", {}],
    ["both text and MsgBody", { text: "a", MsgBody: [text("b")] }],
    ["an unknown field", { Text: "a" }],
    ["MsgBody that is not an array", { MsgBody: "hello" }],
    ["an element without MsgContent", { MsgBody: [{ MsgType: "TIMTextElem" }] }],
  ])("refuses %s with 400", (_, body) => {
    expect(() => editor.parseChange(body)).toThrow(BadRequestError);
  });

  it.each([
    ["an unknown element kind", [{ MsgType: "TIMRelayElem", MsgContent: { Title: "t" } }]],
    ["an element missing required fields", [{ MsgType: "TIMLocationElem", MsgContent: { Desc: "x" } }]],
    ["two custom elements", [1, 2].map(() => ({ MsgType: "TIMCustomElem", MsgContent: { Data: "d" } }))],
    ["more than 12 KB", [text("x".repeat(12 * 1024))]],
  ])("refuses %s with 422 before sending", (_, body) => {
    expect(() => editor.plan(head({ MsgBody: [text("a")] }), editor.parseChange({ MsgBody: body }))).toThrow(
      UnprocessableError,
    );
  });

  it("refuses a text edit of a message whose other elements the API cannot take back", () => {
    expect(() =>
      editor.plan(head({ MsgBody: [text("a"), oldSound] }), editor.parseChange({ text: "b" })),
    ).toThrow(/Url/);
  });

  it("restores every field, with empty values for the ones the version lacks", () => {
    const plan = editor.planRestore(head({ MsgBody: [text("now")], CloudCustomData: "now" }), {
      MsgBody: [text("then")],
    });
    expect(plan.send).toEqual({ MsgBody: [text("then")], CloudCustomData: "" });
  });

  it("marks versions with elements from old SDKs as not restorable, with a reason", () => {
    expect(editor.notRestorable({ MsgBody: [oldSound] })).toMatch(/TIMSoundElem.*Url/);
    expect(editor.notRestorable({ MsgBody: [text("fine")] })).toBeUndefined();
    expect(() => editor.planRestore(head({}), { MsgBody: [oldSound] })).toThrow(UnprocessableError);
  });
});
