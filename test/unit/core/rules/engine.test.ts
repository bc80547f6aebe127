import { describe, expect, it } from "vitest";
import type { Content } from "../../../../functions/core/model.ts";
import { evaluate, RuleSet, type RuleSubject } from "../../../../functions/core/rules/engine.ts";
import { neteaseCodec } from "../../../../functions/providers/netease/codec.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";

const text = (value: string, customData?: string): Content => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }],
  ...(customData === undefined ? {} : { CloudCustomData: customData }),
});

const subject = (fields: Partial<RuleSubject> = {}): RuleSubject => ({
  provider: "tencent",
  appId: "1400000000",
  kind: "c2c",
  conversation: "c2c:alice:bob",
  sender: "alice",
  content: text("hello"),
  ...fields,
});

const one = (match: Record<string, unknown>) =>
  RuleSet.parse({ rules: [{ id: "r", match, action: { replaceText: { text: "x" } } }] }).rules[0];

describe("CompiledRule.matches", () => {
  it("holds when every given condition holds, and an empty match always does", () => {
    expect(one({})?.matches(subject(), tencentCodec)).toBe(true);
    const all = one({
      provider: "tencent",
      appId: "1400000000",
      kind: ["group", "c2c"],
      conversation: "c2c:alice:bob",
      sender: "alice",
      text: "^hel+o$",
      customData: { lang: "en", tags: ["a", { b: 1 }] },
    });
    const content = text("hello", '{"tags":[ "a", {"b":1} ],"lang":"en","other":true}');
    expect(all?.matches(subject({ content }), tencentCodec)).toBe(true);
  });

  it.each([
    ["provider", { provider: "netease" }],
    ["appId", { appId: "1400000001" }],
    ["kind", { kind: ["group"] }],
    ["conversation", { conversation: "c2c:alice:carol" }],
    ["sender", { sender: "bob" }],
    ["text", { text: "bye" }],
    ["customData value", { customData: { lang: "fr" } }],
    ["customData key", { customData: { missing: null } }],
    ["customData type", { customData: { n: "1" } }],
  ])("fails on %s", (_name, match) => {
    const content = text("hello", '{"lang":"en","n":1}');
    expect(one(match)?.matches(subject({ content }), tencentCodec)).toBe(false);
  });

  it("does not match custom data conditions on content without a JSON object", () => {
    const rule = one({ customData: { lang: "en" } });
    expect(rule?.matches(subject({ content: text("x") }), tencentCodec)).toBe(false);
    expect(rule?.matches(subject({ content: text("x", "lang=en") }), tencentCodec)).toBe(false);
  });

  it("does not match a sender condition when the subject has no sender", () => {
    const { sender: _none, ...anonymous } = subject();
    expect(one({ sender: "alice" })?.matches(anonymous, tencentCodec)).toBe(false);
  });

  it("reads Yunxin content through its codec", () => {
    const rule = one({ provider: "netease", kind: ["team"], text: "spam", customData: { x: 1 } });
    const yunxin = subject({
      provider: "netease",
      kind: "team",
      content: { text: "buy spam", extension: '{"x":1}' },
    });
    expect(rule?.matches(yunxin, neteaseCodec)).toBe(true);
  });
});

describe("evaluate", () => {
  const set = RuleSet.parse({
    rules: [
      { id: "digits", match: { text: "\\d" }, action: { redact: { pattern: "\\d+", mask: "#" } } },
      { id: "mark", match: { text: "#" }, action: { mergeCustomData: { redacted: true } } },
      { id: "shout", match: {}, action: { replace: { pattern: "!+", with: "." } } },
      { id: "before", on: "before-send", match: {}, action: { replaceText: { text: "b" } } },
    ],
  });
  const rules = set.on("after-send");

  it("runs rules in file order, each on the content the earlier ones left", () => {
    // Act
    const result = evaluate(rules, subject({ content: text("call 123 now!!") }), tencentCodec, {
      budgetMs: 100,
    });
    // Assess
    expect(result.timedOut).toBe(false);
    expect(result.skipped).toEqual([]);
    expect(result.steps.map((step) => [step.ruleId, tencentCodec.text(step.content)])).toEqual([
      ["digits", "call # now!!"],
      ["mark", "call # now!!"],
      ["shout", "call # now."],
    ]);
    expect(result.steps[1]?.content.CloudCustomData).toBe('{"redacted":true}');
    expect(result.steps[2]?.content.CloudCustomData).toBe('{"redacted":true}');
  });

  it("makes no step for a rule that changes nothing", () => {
    const result = evaluate(rules, subject({ content: text("calm") }), tencentCodec, { budgetMs: 100 });
    expect(result).toEqual({ steps: [], skipped: [], timedOut: false });
  });

  it("never runs an excluded rule", () => {
    const result = evaluate(rules, subject({ content: text("1!") }), tencentCodec, {
      budgetMs: 100,
      exclude: new Set(["digits", "shout"]),
    });
    expect(result.steps).toEqual([]);
  });

  it("reports rules that could not act", () => {
    const result = evaluate(rules, subject({ content: text("7", "not json") }), tencentCodec, {
      budgetMs: 100,
    });
    expect(result.steps.map((step) => step.ruleId)).toEqual(["digits"]);
    expect(result.skipped).toEqual([{ ruleId: "mark", reason: "not_json" }]);
  });

  it("stops when the budget is spent", () => {
    // Prepare: a clock that moves 10 ms per reading.
    let clock = 0;
    const now = () => {
      clock += 10;
      return clock;
    };
    // Act
    const result = evaluate(rules, subject({ content: text("1!") }), tencentCodec, { budgetMs: 15, now });
    // Assess: read at start (10), before rule 1 (20: 10 elapsed), before rule 2 (30: 20 elapsed > 15).
    expect(result.timedOut).toBe(true);
    expect(result.steps.map((step) => step.ruleId)).toEqual(["digits"]);
  });

  it("does nothing without rules", () => {
    expect(evaluate([], subject(), tencentCodec, { budgetMs: 0 })).toEqual({
      steps: [],
      skipped: [],
      timedOut: false,
    });
  });

  it("does not touch the subject's content", () => {
    const content = text("123");
    const before = structuredClone(content);
    evaluate(set.rules, subject({ content }), tencentCodec, { budgetMs: 100 });
    expect(content).toEqual(before);
  });
});
