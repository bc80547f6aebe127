import { describe, expect, it } from "vitest";
import { type DecideHook, decide } from "../../../../functions/core/decide.ts";
import type { Content, ObservedMessage } from "../../../../functions/core/model.ts";
import type { CallbackRequest } from "../../../../functions/core/provider.ts";
import { RuleSet } from "../../../../functions/core/rules/engine.ts";
import { fixedRules, rulesHook } from "../../../../functions/core/rules/hook.ts";
import { neteaseCodec } from "../../../../functions/providers/netease/codec.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";
import { REDACT_PHONE } from "../../../helpers/rules.ts";

const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];

const message: ObservedMessage = {
  id: "c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa",
  provider: "tencent",
  appId: "1400000000",
  kind: "c2c",
  key: {},
  conversation: "c2c:alice:bob",
  sender: "alice",
  sentAt: "2026-06-01T00:00:00.000Z",
};

const request: CallbackRequest = {
  query: { CallbackCommand: "C2C.CallbackBeforeSendMsg" },
  headers: {},
  body: Buffer.from("{}"),
  receivedAt: new Date("2026-06-01T00:00:00.000Z"),
};

const RULES = RuleSet.parse({
  rules: [
    REDACT_PHONE,
    {
      id: "mark",
      on: "before-send",
      match: { text: "\\*\\*\\*" },
      action: { mergeCustomData: { redacted: true } },
    },
    { id: "after-only", on: "after-send", match: {}, action: { replaceText: { text: "never before send" } } },
  ],
});

const hookWith = (rules: RuleSet) =>
  rulesHook({ rules: fixedRules(rules), codecOf: (p) => (p === "tencent" ? tencentCodec : neteaseCodec) });

async function run(hooks: DecideHook[], original: Content) {
  return decide(
    hooks,
    { provider: "tencent", appId: "1400000000", message, original, request },
    { budgetMs: 500 },
  );
}

describe("before-send rules hook", () => {
  it("rewrites in one step per rule, each whole and in file order; after-send rules do not run", async () => {
    const decided = await run([hookWith(RULES)], { MsgBody: TEXT("call 13812345678") });

    const redacted = { MsgBody: TEXT("call ***") };
    const marked = { ...redacted, CloudCustomData: JSON.stringify({ redacted: true }) };
    expect(decided.decision).toEqual({ action: "rewrite", content: marked, ruleId: "mark" });
    expect(decided.delivered).toEqual(marked);
    expect(decided.by).toEqual(["rules"]);
    expect(decided.steps).toEqual([
      { content: redacted, source: "auto", ruleId: "redact-phone", by: "rules" },
      { content: marked, source: "auto", ruleId: "mark", by: "rules" },
    ]);
  });

  it("answers nothing when no rule matches, or there are no before-send rules", async () => {
    expect((await run([hookWith(RULES)], { MsgBody: TEXT("hello") })).decision).toEqual({ action: "allow" });
    expect((await run([hookWith(RuleSet.EMPTY)], { MsgBody: TEXT("13812345678") })).decision).toEqual({
      action: "allow",
    });
  });

  it("sees the content after an earlier hook (the app's answer), whose step comes first", async () => {
    const app: DecideHook = {
      name: "app-relay",
      budgetMs: 100,
      source: "app",
      decide: async () => ({ action: "rewrite", content: { MsgBody: TEXT("app says 13912345678") } }),
    };
    const decided = await run([app, hookWith(RULES)], { MsgBody: TEXT("hi") });
    expect(decided.steps?.map((step) => [step.source, step.by, step.ruleId])).toEqual([
      ["app", "app-relay", undefined],
      ["auto", "rules", "redact-phone"],
      ["auto", "rules", "mark"],
    ]);
    expect(decided.delivered?.MsgBody).toEqual(TEXT("app says ***"));
  });

  it("follows a hot swap of the set (the holder is read per callback)", async () => {
    let current = RuleSet.EMPTY;
    const hook = rulesHook({ rules: { current: () => current }, codecOf: () => tencentCodec });
    expect((await run([hook], { MsgBody: TEXT("13812345678") })).decision.action).toBe("allow");
    current = RULES;
    expect((await run([hook], { MsgBody: TEXT("13812345678") })).decision.action).toBe("rewrite");
  });

  it("reports a rule that cannot act (custom data that is not JSON) and goes on", async () => {
    const skipped: string[] = [];
    const rules = RuleSet.parse({
      rules: [{ id: "tag", on: "before-send", match: {}, action: { mergeCustomData: { tagged: true } } }],
    });
    const hook = rulesHook({
      rules: fixedRules(rules),
      codecOf: () => tencentCodec,
      observer: { ruleSkipped: (ruleId, reason) => skipped.push(`${ruleId}:${reason}`) },
    });
    const decided = await run([hook], { MsgBody: TEXT("x"), CloudCustomData: "not json" });
    expect(decided.decision.action).toBe("allow");
    expect(skipped).toEqual(["tag:not_json"]);
  });
});

describe("decide: rewrite steps", () => {
  const rewrite = (
    name: string,
    content: Content,
    steps?: { content: Content; ruleId?: string }[],
  ): DecideHook => ({
    name,
    budgetMs: 100,
    decide: async () => ({ action: "rewrite", content, ...(steps ? { steps } : {}) }),
  });

  it("a hook without steps is one step; a step that changes nothing is left out", async () => {
    const decided = await run(
      [rewrite("a", { MsgBody: TEXT("a") }), rewrite("same", { MsgBody: TEXT("a") })],
      { MsgBody: TEXT("x") },
    );
    expect(decided.steps).toEqual([{ content: { MsgBody: TEXT("a") }, source: "auto", by: "a" }]);
    expect(decided.by).toEqual(["a", "same"]);
  });

  it("steps that do not end at the rewrite's content make the hook's answer invalid: skipped", async () => {
    const skips: string[] = [];
    const decided = await decide(
      [rewrite("liar", { MsgBody: TEXT("b") }, [{ content: { MsgBody: TEXT("c") }, ruleId: "r" }])],
      { provider: "tencent", appId: "1", message, original: { MsgBody: TEXT("x") }, request },
      { budgetMs: 500, onSkip: (hook, reason) => skips.push(`${hook}:${reason}`) },
    );
    expect(decided.decision.action).toBe("allow");
    expect(skips).toEqual(["liar:invalid"]);
  });

  it("rewrites that end where the sender started allow the message as sent (no steps)", async () => {
    const decided = await run(
      [rewrite("there", { MsgBody: TEXT("y") }), rewrite("back", { MsgBody: TEXT("x") })],
      { MsgBody: TEXT("x") },
    );
    expect(decided).toEqual({ decision: { action: "allow" }, by: [] });
  });
});
