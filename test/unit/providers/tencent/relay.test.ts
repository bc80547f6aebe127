import { describe, expect, it } from "vitest";
import type { Decision } from "../../../../functions/core/decide.ts";
import { MisconfiguredError } from "../../../../functions/core/errors.ts";
import type { ObservedMessage } from "../../../../functions/core/model.ts";
import { signQuery, tencentDecision, tencentRelay } from "../../../../functions/providers/tencent/relay.ts";
import { tencentSign, verifyTencentQuery } from "../../../../functions/providers/tencent/verify.ts";
import { fixture } from "../../../helpers/fixtures.ts";
import { callbackRequest, tencentProvider } from "../../../helpers/tencent.ts";

const URL_ = "https://app.example/im";
/** The documented example (tencent-chat-notes §1.3): token xxxxyyyy at 1669872112. */
const DOC = {
  token: "xxxxyyyy",
  requestTime: "1669872112",
  sign: "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
};
const at = (seconds: number) => new Date(seconds * 1000 + 456);
const answer = (body: unknown, status = 200) => ({
  status,
  body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
});
const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
const c2cMessage = { kind: "c2c" } as ObservedMessage;
const groupMessage = { kind: "group" } as ObservedMessage;
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };

describe("tencentRelay.sign: Sign/RequestTime made afresh with the app's token, in place", () => {
  const query = (sign: string, time: string) =>
    `SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&contenttype=json&ClientIP=1.2.3.4&OptPlatform=iOS&Sign=${sign}&RequestTime=${time}`;

  it("gives the documented signature for the documented token and time", () => {
    const signed = signQuery(query("old", "1"), DOC.token, at(Number(DOC.requestTime)));
    expect(signed).toBe(query(DOC.sign, DOC.requestTime));
    expect(tencentSign(DOC.token, DOC.requestTime)).toBe(DOC.sign);
  });

  it("leaves every other parameter byte for byte, in its order (encoded values too)", () => {
    const raw =
      "Sign=x&SdkAppid=1400000000&note=a%20b%2Bc&RequestTime=5&empty=&flag&CallbackCommand=C2C.CallbackAfterSendMsg";
    const signed = signQuery(raw, DOC.token, at(Number(DOC.requestTime)));
    expect(signed).toBe(
      `Sign=${DOC.sign}&SdkAppid=1400000000&note=a%20b%2Bc&RequestTime=${DOC.requestTime}&empty=&flag&CallbackCommand=C2C.CallbackAfterSendMsg`,
    );
  });

  it("the app verifies it as Tencent's own (verifyTencentQuery with the app's token)", () => {
    const now = at(1_700_000_000);
    const signed = signQuery(query("stale", "100"), "app-token", now);
    const params = Object.fromEntries(new URLSearchParams(signed));
    expect(() =>
      verifyTencentQuery(
        params,
        { sdkAppId: "1400000000", callbackToken: "app-token", maxSkewSeconds: 60 },
        now,
      ),
    ).not.toThrow();
  });

  it("no token: both removed (what an unsigned callback looks like); unsigned in, token set: appended", () => {
    expect(signQuery(query("s", "1"), undefined, at(5))).toBe(
      "SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&contenttype=json&ClientIP=1.2.3.4&OptPlatform=iOS",
    );
    expect(signQuery("SdkAppid=1&CallbackCommand=x", DOC.token, at(Number(DOC.requestTime)))).toBe(
      `SdkAppid=1&CallbackCommand=x&Sign=${DOC.sign}&RequestTime=${DOC.requestTime}`,
    );
    expect(signQuery("", undefined, at(5))).toBe("");
  });

  it("a repeated Sign or RequestTime is written once, at its first place", () => {
    expect(
      signQuery("Sign=a&RequestTime=1&Sign=b&RequestTime=2&x=1", DOC.token, at(Number(DOC.requestTime))),
    ).toBe(`Sign=${DOC.sign}&RequestTime=${DOC.requestTime}&x=1`);
  });

  it("signs at each attempt: RequestTime is now (seconds), the headers and body untouched", () => {
    const relay = tencentRelay({ url: URL_, token: "t" });
    const headers = { "content-type": "application/json" };
    const first = relay.sign({ rawQuery: query("a", "1"), headers, body: Buffer.from("{}") }, at(1000));
    const later = relay.sign({ rawQuery: query("a", "1"), headers, body: Buffer.from("{}") }, at(1300));
    expect(first.rawQuery).toContain("RequestTime=1000");
    expect(later.rawQuery).toContain(`Sign=${tencentSign("t", "1300")}&RequestTime=1300`);
    expect(first.headers).toBe(headers);
  });

  it("an unusable token refuses the forward (MisconfiguredError naming the variable), never signs", () => {
    const relay = tencentRelay({ url: URL_, unusable: "TENCENT_FORWARD_CALLBACK_TOKEN" });
    const sign = () => relay.sign({ rawQuery: query("a", "1"), headers: {}, body: Buffer.from("{}") }, at(5));
    expect(sign).toThrow(MisconfiguredError);
    expect(sign).toThrow(/TENCENT_FORWARD_CALLBACK_TOKEN/);
  });

  it("keeps no provider header beyond the defaults; Sign and RequestTime stay out of the forward's id", () => {
    const relay = tencentRelay({ url: URL_ });
    expect(relay.headers).toEqual([]);
    expect(relay.signatureParams).toEqual(["Sign", "RequestTime"]);
    expect(relay.url).toBe(URL_);
  });
});

describe("tencentRelay.synchronous: the before-send commands", () => {
  const relay = tencentRelay({ url: URL_ });
  it.each([
    ["C2C.CallbackBeforeSendMsg", true],
    ["Group.CallbackBeforeSendMsg", true],
    ["C2C.CallbackAfterSendMsg", false],
    ["Group.CallbackAfterSendMsg", false],
    ["Group.CallbackSendMsgException", false],
    ["State.StateChange", false],
  ])("%s: %s", (command, synchronous) => {
    expect(relay.synchronous(callbackRequest({ CallbackCommand: command }))).toBe(synchronous);
  });

  it("by the body's command when the query names none; garbage is not synchronous", () => {
    const request = callbackRequest({ CallbackCommand: "Group.CallbackBeforeSendMsg" });
    const { CallbackCommand: _, ...query } = request.query;
    expect(relay.synchronous({ ...request, query })).toBe(true);
    expect(relay.synchronous({ ...request, query, body: Buffer.from("not json") })).toBe(false);
  });
});

describe("tencentDecision: the app's before-send answer, validated", () => {
  const decide = (body: unknown, message: ObservedMessage | undefined = c2cMessage, status = 200) =>
    tencentDecision(answer(body, status), message);

  it("ErrorCode 0: allow (ActionStatus OK or FAIL, ErrorInfo optional, unknown fields ignored)", () => {
    expect(decide(OK)).toEqual({ action: "allow" });
    expect(decide({ ActionStatus: "FAIL", ErrorCode: 0 })).toEqual({ action: "allow" });
    expect(decide({ ...OK, Extra: { anything: 1 } })).toEqual({ action: "allow" });
  });

  it("ErrorCode 0 with MsgBody: a rewrite of the body", () => {
    expect(decide({ ...OK, MsgBody: TEXT("clean") })).toEqual<Decision>({
      action: "rewrite",
      content: { MsgBody: TEXT("clean") },
    });
  });

  it("ErrorCode 0 with CloudCustomData (alone or with MsgBody): a rewrite of it", () => {
    expect(decide({ ...OK, CloudCustomData: "" })).toEqual({
      action: "rewrite",
      content: { CloudCustomData: "" },
    });
    expect(decide({ ...OK, MsgBody: TEXT("x"), CloudCustomData: '{"a":1}' })).toEqual({
      action: "rewrite",
      content: { MsgBody: TEXT("x"), CloudCustomData: '{"a":1}' },
    });
  });

  it("ErrorCode 1: refused with the app's ErrorInfo", () => {
    expect(decide({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "spam" })).toEqual({
      action: "block",
      code: 1,
      info: "spam",
    });
    expect(decide({ ActionStatus: "OK", ErrorCode: 1 })).toEqual({ action: "block", code: 1, info: "" });
  });

  it("ErrorCode 2: a silent drop, for a group and for C2C (the reply answers a C2C drop as a refusal)", () => {
    expect(decide({ ...OK, ErrorCode: 2 }, groupMessage)).toEqual({ action: "drop" });
    expect(decide({ ...OK, ErrorCode: 2 }, c2cMessage)).toEqual({ action: "drop" });
    expect(tencentProvider().reply({ action: "drop" }, c2cMessage).body).toMatchObject({ ErrorCode: 1 });
    expect(tencentProvider().reply({ action: "drop" }, groupMessage).body).toMatchObject({ ErrorCode: 2 });
  });

  it.each([
    ["c2c", 120_001, true],
    ["c2c", 130_000, true],
    ["c2c", 120_000, false],
    ["c2c", 130_001, false],
    ["c2c", 10_150, false],
    ["group", 10_100, true],
    ["group", 10_200, true],
    ["group", 10_099, false],
    ["group", 10_201, false],
    ["group", 120_005, false],
  ] as const)("the app's own code: %s %d in its range: %s", (kind, code, valid) => {
    const decided = decide({ ActionStatus: "OK", ErrorCode: code, ErrorInfo: "mine" }, {
      kind,
    } as ObservedMessage);
    expect(decided).toEqual(
      valid ? { action: "block", code, info: "mine" } : { invalid: expect.stringContaining(`${code}`) },
    );
  });

  it("a message im-edit could not read: a code of either range is taken (the reply sends it for its kind)", () => {
    expect(tencentDecision(answer({ ...OK, ErrorCode: 10_150 }), undefined)).toEqual({
      action: "block",
      code: 10_150,
      info: "",
    });
    expect(decide({ ...OK, ErrorCode: 120_001 }, undefined)).toEqual({
      action: "block",
      code: 120_001,
      info: "",
    });
    expect(decide({ ...OK, ErrorCode: 3 }, undefined)).toHaveProperty("invalid");
  });

  it.each([
    ["a status other than 200", OK, 204],
    ["a 500 with a valid body", OK, 500],
    ["a redirect", OK, 302],
  ])("invalid: %s", (_, body, status) => {
    expect(decide(body, c2cMessage, status)).toEqual({ invalid: `HTTP status ${status}` });
  });

  it.each([
    ["not JSON", "<html>oops</html>"],
    ["empty", ""],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
    ["a JSON string", '"OK"'],
  ])("invalid: %s", (_, body) => {
    expect(decide(body)).toHaveProperty("invalid");
  });

  it.each([
    ["ActionStatus missing", { ErrorCode: 0 }],
    ["ActionStatus unknown", { ActionStatus: "ok", ErrorCode: 0 }],
    ["ErrorCode missing", { ActionStatus: "OK" }],
    ["ErrorCode a string", { ActionStatus: "OK", ErrorCode: "0" }],
    ["ErrorCode fractional", { ActionStatus: "OK", ErrorCode: 1.5 }],
    ["ErrorCode negative", { ActionStatus: "OK", ErrorCode: -1 }],
    ["ErrorCode another", { ActionStatus: "OK", ErrorCode: 3 }],
    ["ErrorInfo a number", { ActionStatus: "OK", ErrorCode: 1, ErrorInfo: 5 }],
    ["MsgBody not a list", { ...OK, MsgBody: "clean" }],
    ["MsgBody null", { ...OK, MsgBody: null }],
    ["an element without MsgType", { ...OK, MsgBody: [{ MsgContent: { Text: "x" } }] }],
    ["an element without MsgContent", { ...OK, MsgBody: [{ MsgType: "TIMTextElem" }] }],
    ["CloudCustomData not a string", { ...OK, CloudCustomData: { a: 1 } }],
  ])("invalid: %s", (_, body) => {
    const decided = decide(body);
    expect(decided).toHaveProperty("invalid");
    // Field names at most, never the app's values.
    expect(JSON.stringify(decided)).not.toContain("clean");
  });

  it("a refusal's MsgBody is not read (Tencent ignores it)", () => {
    expect(decide({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "no", MsgBody: "garbage" })).toEqual({
      action: "block",
      code: 1,
      info: "no",
    });
  });
});

describe("the Tencent provider with a relay", () => {
  it("has one with TENCENT_CALLBACK_FORWARD_URL, none without", () => {
    expect(tencentProvider().relay).toBeUndefined();
    expect(tencentProvider({ forward: { url: URL_ } }).relay?.url).toBe(URL_);
  });

  it("answers a before-send it could not read for the kind its command names", () => {
    const provider = tencentProvider();
    const group = callbackRequest(fixture("tencent", "group-before-send"));
    const c2c = callbackRequest(fixture("tencent", "c2c-before-send"));
    expect(provider.reply({ action: "drop" }, undefined, group).body).toMatchObject({ ErrorCode: 2 });
    expect(provider.reply({ action: "drop" }, undefined, c2c).body).toMatchObject({ ErrorCode: 1 });
    expect(provider.reply({ action: "block", code: 10_150, info: "x" }, undefined, group).body).toMatchObject(
      {
        ErrorCode: 10_150,
      },
    );
  });
});
