import { describe, expect, it, vi } from "vitest";
import { type DecideContext, decide } from "../../../functions/core/decide.ts";
import { ForwardFailure } from "../../../functions/core/forwarding.ts";
import type { ObservedMessage } from "../../../functions/core/model.ts";
import type { ForwardAnswer, Forwarder, ForwardRequest } from "../../../functions/core/relay.ts";
import {
  APP_HOOK_MARGIN_MS,
  type AppRelayOptions,
  createAppRelay,
  type ForwardFallback,
} from "../../../functions/core/relay-hook.ts";
import { tencentRelay } from "../../../functions/providers/tencent/relay.ts";
import { tencentSign } from "../../../functions/providers/tencent/verify.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { callbackRequest } from "../../helpers/tencent.ts";

const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const relay = tencentRelay({ url: "https://app.example/im?key=k", token: "app-token" });
const NOW = new Date("2026-11-23T12:00:00.000Z");

/** A forwarder answering what the test says (or failing, or never answering), noting what it got. */
function fakeForwarder(
  answer: (request: ForwardRequest, signal?: AbortSignal) => Promise<ForwardAnswer> | ForwardAnswer,
): Forwarder & { sent: { request: ForwardRequest; timeoutMs: number }[]; aborted: () => boolean } {
  const sent: { request: ForwardRequest; timeoutMs: number }[] = [];
  let lastSignal: AbortSignal | undefined;
  return {
    sent,
    aborted: () => lastSignal?.aborted ?? false,
    send: async (request, timeoutMs, signal) => {
      sent.push({ request, timeoutMs });
      lastSignal = signal;
      return answer(request, signal);
    },
  };
}
const json = (body: unknown, status = 200): ForwardAnswer => ({
  status,
  body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
});

function appRelay(forwarder: Forwarder, options: Partial<AppRelayOptions> = {}) {
  const fellBack = vi.fn();
  const built = createAppRelay({
    relayOf: (provider) => (provider === "tencent" ? relay : undefined),
    forwarder,
    timeoutMs: 100,
    fallback: { action: "allow" },
    observer: { fellBack },
    now: () => NOW,
    ...options,
  });
  return { ...built, fellBack };
}

function context(body: Record<string, unknown> = fixture("tencent", "c2c-before-send")): DecideContext {
  const request = {
    ...callbackRequest(body, { Sign: "tencent-sign", RequestTime: "1" }),
    rawQuery: `SdkAppid=1400000000&CallbackCommand=${String(body.CallbackCommand)}&contenttype=json&Sign=tencent-sign&RequestTime=1`,
    sourceIp: "203.0.113.9",
  };
  return {
    provider: "tencent",
    appId: "1400000000",
    message: {
      id: "c2c_test",
      kind: body.CallbackCommand === "Group.CallbackBeforeSendMsg" ? "group" : "c2c",
    } as ObservedMessage,
    original: { MsgBody: TEXT("hello") },
    content: { MsgBody: TEXT("hello") },
    request,
    signal: new AbortController().signal,
  };
}

describe("the app hook: the app's before-send answer as the decision", () => {
  it("is named app, speaks for the app in history, and answers inside its decide budget", () => {
    const { hook } = appRelay(
      fakeForwarder(() => json(OK)),
      { timeoutMs: 1200 },
    );
    expect(hook).toMatchObject({ name: "app", source: "app", budgetMs: 1200 + APP_HOOK_MARGIN_MS });
  });

  it("forwards the before-send re-signed with the app's token, body bytes as received, and the message id", async () => {
    // Prepare
    const forwarder = fakeForwarder(() => json(OK));
    const { hook } = appRelay(forwarder);
    const ctx = context();

    // Act
    await hook.decide(ctx);

    // Assess
    const [sent] = forwarder.sent;
    const time = String(Math.floor(NOW.getTime() / 1000));
    expect(sent?.timeoutMs).toBe(100);
    expect(sent?.request.url).toBe(
      `https://app.example/im?key=k&SdkAppid=1400000000&CallbackCommand=C2C.CallbackBeforeSendMsg&contenttype=json&Sign=${tencentSign("app-token", time)}&RequestTime=${time}`,
    );
    expect(sent?.request.body.equals(ctx.request.body)).toBe(true);
    expect(sent?.request.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.9",
      "x-im-edit-message-id": "c2c_test",
      "x-im-edit-forward-id": expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it.each([
    ["allow", OK, { action: "allow" }],
    ["block", { ...OK, ErrorCode: 1, ErrorInfo: "spam" }, { action: "block", code: 1, info: "spam" }],
    [
      "block with its own code",
      { ...OK, ErrorCode: 120_002, ErrorInfo: "x" },
      { action: "block", code: 120_002, info: "x" },
    ],
    ["drop", { ...OK, ErrorCode: 2 }, { action: "drop" }],
    [
      "rewrite",
      { ...OK, MsgBody: TEXT("clean") },
      { action: "rewrite", content: { MsgBody: TEXT("clean") } },
    ],
  ])("%s: the app's answer, validated", async (_, body, decision) => {
    const { hook, fellBack } = appRelay(fakeForwarder(() => json(body)));
    expect(await hook.decide(context())).toEqual(decision);
    expect(fellBack).not.toHaveBeenCalled();
  });

  it("leaves other callbacks and providers without a relay alone (no forward)", async () => {
    const forwarder = fakeForwarder(() => json(OK));
    const { hook } = appRelay(forwarder);
    expect(await hook.decide(context(fixture("tencent", "c2c-after-send")))).toBeUndefined();
    expect(await hook.decide({ ...context(), provider: "netease" })).toBeUndefined();
    expect(forwarder.sent).toEqual([]);
  });
});

describe("the app hook: the fallback policy when the answer cannot be used", () => {
  const BLOCK: ForwardFallback = { action: "block", code: 120_001 };
  const never = () => new Promise<ForwardAnswer>(() => {});

  it.each([
    ["timeout", never, "timeout"],
    [
      "the app is down",
      () => Promise.reject(new ForwardFailure(true, { code: "unreachable", message: "connection refused" })),
      "unreachable",
    ],
    [
      "an answer over the cap",
      () =>
        Promise.reject(
          new ForwardFailure(true, { code: "too_large", message: "the answer is over 65536 bytes" }),
        ),
      "too_large",
    ],
    ["a 500", () => json(OK, 500), "app_status"],
    ["a 302", () => json(OK, 302), "app_status"],
    ["garbage", () => json("<html>"), "invalid"],
    ["an invalid envelope", () => json({ ActionStatus: "OK", ErrorCode: "0" }), "invalid"],
    ["a code outside the range", () => json({ ...OK, ErrorCode: 10_150 }), "invalid"],
    [
      "a bug in the forwarder",
      () => Promise.reject(new Error("https://user:pw@app.example boom")),
      "unexpected",
    ],
  ] as const)(
    "%s: allow by default, or the configured block; reported with the reason",
    async (_, answer, reason) => {
      // Prepare
      const allowing = appRelay(fakeForwarder(answer));
      const blocking = appRelay(fakeForwarder(answer), { fallback: BLOCK });

      // Act
      const allowed = await allowing.hook.decide(context());
      const blocked = await blocking.hook.decide(context());

      // Assess
      expect(allowed).toEqual({ action: "allow" });
      expect(blocked).toEqual({
        action: "block",
        code: 120_001,
        info: `no valid answer from the app (${reason})`,
      });
      expect(allowing.fellBack).toHaveBeenCalledWith("tencent", reason, expect.any(String));
      // Never a body, a query, a URL or a secret in the report.
      const detail = String(allowing.fellBack.mock.calls[0]?.[2]);
      expect(detail).not.toMatch(/pw|app-token|key=k|<html>/);
    },
  );

  it("a late app: the hook answers the policy at its own timeout, before decide would skip it (which allows)", async () => {
    // Prepare
    const forwarder = fakeForwarder(never);
    const { hook, fellBack } = appRelay(forwarder, { timeoutMs: 40, fallback: BLOCK });
    const onSkip = vi.fn();
    const { signal: _, content: __, ...rest } = context();

    // Act: through decide, with the budget clients.ts gives it (the hook's budget and the rules' after it).
    const started = performance.now();
    const decided = await decide([hook], rest, { budgetMs: hook.budgetMs + 200, onSkip });

    // Assess
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(onSkip).not.toHaveBeenCalled();
    expect(decided).toEqual({
      decision: { action: "block", code: 120_001, info: "no valid answer from the app (timeout)" },
      by: ["app"],
    });
    expect(forwarder.aborted()).toBe(true);
    expect(fellBack).toHaveBeenCalledWith("tencent", "timeout", "the app did not answer within 40 ms");
  });

  it("decide's own signal ends the forward too", async () => {
    const forwarder = fakeForwarder(never);
    const { hook } = appRelay(forwarder, { timeoutMs: 5_000 });
    const controller = new AbortController();
    const deciding = hook.decide({ ...context(), signal: controller.signal });
    controller.abort();
    expect(await deciding).toEqual({ action: "allow" });
    expect(forwarder.aborted()).toBe(true);
  });

  it("an unusable forward token: no request at all, the policy, reported as misconfigured", async () => {
    const forwarder = fakeForwarder(() => json(OK));
    const refused = tencentRelay({
      url: "https://app.example/im",
      unusable: "TENCENT_FORWARD_CALLBACK_TOKEN",
    });
    const { hook, fellBack } = appRelay(forwarder, { relayOf: () => refused, fallback: BLOCK });

    expect(await hook.decide(context())).toMatchObject({ action: "block", code: 120_001 });
    expect(forwarder.sent).toEqual([]);
    expect(fellBack).toHaveBeenCalledWith("tencent", "misconfigured", expect.any(String));
  });

  it("answer(): a callback im-edit could not read, without a message (a code of either range)", async () => {
    const { answer } = appRelay(fakeForwarder(() => json({ ...OK, ErrorCode: 10_150, ErrorInfo: "g" })));
    const request = context(fixture("tencent", "group-before-send")).request;
    expect(await answer("tencent", relay, request)).toEqual({ action: "block", code: 10_150, info: "g" });
  });
});
