import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Content, Kind } from "../../../../functions/core/model.ts";
import {
  compileAction,
  compilePattern,
  evaluate,
  parseAction,
  RuleSet,
  type RuleSubject,
  RulesError,
} from "../../../../functions/core/rules/engine.ts";
import { PatternIndex } from "../../../../functions/core/rules/patterns.ts";
import { neteaseCodec } from "../../../../functions/providers/netease/codec.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";

// Seeded and bounded: the same runs every time, each well under a second.
const SETTINGS = { seed: 20_240_515, numRuns: 300 } as const;

/**
 * Patterns in the syntax RE2 and JavaScript (`u` flag) read alike, so JavaScript's RegExp can serve as
 * the reference: literals, classes, anchors, word boundaries, groups, alternation, greedy and lazy
 * quantifiers. No `.` and no `\s` (their line-terminator sets differ), no backreferences or lookaround
 * (RE2 has none).
 */
const atom: fc.Arbitrary<string> = fc.constantFrom(
  "a",
  "b",
  "c",
  "1",
  "\\.",
  " ",
  "[ab]",
  "[^a]",
  "\\d",
  "\\w",
  "[a-c1]",
);
// Not `\B`: between the halves of an emoji JavaScript's `u` mode finds a non-boundary RE2 never looks at.
const assertion = fc.constantFrom("^", "$", "\\b");
const quantifier = fc.constantFrom("", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?", "??");

/** `groupQuantifier`: what may follow a group (patterns.ts's reference differs from RE2 there, see below). */
const grammar = (groupQuantifier: fc.Arbitrary<string>) =>
  fc
    .letrec<{ pattern: string; term: string; factor: string }>((tie) => ({
      // Shallow, and texts short: the reference backtracks, exponentially on nested quantifiers.
      factor: fc.oneof(
        { maxDepth: 3, depthSize: "small" },
        { weight: 6, arbitrary: fc.tuple(atom, quantifier).map(([a, q]) => a + q) },
        { weight: 1, arbitrary: assertion },
        { weight: 2, arbitrary: fc.tuple(tie("pattern"), groupQuantifier).map(([p, q]) => `(${p})${q}`) },
        { weight: 1, arbitrary: fc.tuple(tie("pattern"), groupQuantifier).map(([p, q]) => `(?:${p})${q}`) },
      ),
      term: fc.array(tie("factor"), { minLength: 1, maxLength: 4 }).map((factors) => factors.join("")),
      pattern: fc.array(tie("term"), { minLength: 1, maxLength: 3 }).map((terms) => terms.join("|")),
    }))
    .pattern.filter((source) => source.length <= 200);
const boundedPattern = grammar(quantifier);
/**
 * Where a match starts and ends, RE2 and a backtracking engine agree except for a repeated group that can
 * match the empty string: JavaScript refuses an empty iteration and backtracks into it (`(?:c*?)+` on
 * "c" matches "c"), RE2 takes the empty match. Both are "a match"; only the span differs.
 */
const spanPattern = grammar(fc.constant(""));

/** Texts over the patterns' alphabet and a few neighbours (newline, a CJK character, an emoji). */
const text = fc
  .array(fc.constantFrom("a", "b", "c", "1", "2", ".", " ", "\n", "x", "中", "😀"), { maxLength: 16 })
  .map((chars) => chars.join(""));

describe("patterns (property)", () => {
  it("match exactly where JavaScript's RegExp does", () => {
    fc.assert(
      fc.property(boundedPattern, fc.array(text, { minLength: 1, maxLength: 5 }), (source, texts) => {
        const compiled = compilePattern(source);
        const reference = new RegExp(source, "u");
        for (const sample of texts)
          expect(compiled.test(sample), `${source} on ${JSON.stringify(sample)}`).toBe(
            reference.test(sample),
          );
      }),
      SETTINGS,
    );
  });

  it("tested together (PatternIndex), match exactly where each does alone", () => {
    fc.assert(
      fc.property(
        fc.array(boundedPattern, { minLength: 1, maxLength: 12 }),
        fc.array(text, { maxLength: 4 }),
        (sources, texts) => {
          const patterns = sources.map((source) => compilePattern(source));
          const index = new PatternIndex(patterns);
          for (const sample of texts) {
            expect([...index.matching(sample)]).toEqual(
              patterns.map((pattern) => (pattern.test(sample) ? 1 : 0)),
            );
          }
        },
      ),
      { ...SETTINGS, numRuns: 100 },
    );
  });

  it("redact agrees with String.prototype.replace, empty matches left alone", () => {
    fc.assert(
      fc.property(spanPattern, text, (source, sample) => {
        const redact = compileAction(parseAction({ redact: { pattern: source, mask: "#" } }));
        const outcome = redact.apply({ text: sample }, neteaseCodec);
        const expected = sample.replace(new RegExp(source, "gu"), (match) => (match === "" ? "" : "#"));
        const actual = outcome.kind === "changed" ? neteaseCodec.text(outcome.content) : sample;
        expect(actual, source).toBe(expected);
      }),
      SETTINGS,
    );
  });

  it("redact leaves no match of its pattern when the mask cannot take part in one", () => {
    // Patterns without assertions that cannot match the empty string, over letters and digits; masks of
    // symbols no such pattern matches. A match in the output would lie inside one stretch the scan skipped.
    const letters = fc.constantFrom("a", "b", "c", "1", "[ab]", "[a-c]", "\\d", "\\w");
    const solid = fc.constantFrom("", "+", "{1,3}", "+?", "{2}");
    const { nonEmpty } = fc.letrec<{ nonEmpty: string; piece: string }>((tie) => ({
      piece: fc.oneof(
        { weight: 4, arbitrary: fc.tuple(letters, solid).map(([a, q]) => a + q) },
        { weight: 1, arbitrary: fc.tuple(letters, fc.constantFrom("*", "?", "*?")).map(([a, q]) => a + q) },
        { weight: 1, arbitrary: fc.tuple(tie("nonEmpty"), solid).map(([p, q]) => `(?:${p})${q}`) },
      ),
      nonEmpty: fc
        .tuple(
          fc.array(fc.array(tie("piece"), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
          fc.array(
            fc.tuple(letters, solid).map(([a, q]) => a + q),
            { minLength: 3, maxLength: 3 },
          ),
        )
        // Each alternative gets one solid piece, so none can match the empty string.
        .map(([alternatives, anchors]) =>
          alternatives.map((pieces, i) => pieces.join("") + anchors[i]).join("|"),
        ),
    }));
    const boundedNonEmpty = nonEmpty.filter((source) => source.length <= 300);
    // Not empty: a mask of nothing joins the text on both sides of a match, which can make a new one.
    const mask = fc
      .array(fc.constantFrom("#", "*", "-", "~"), { minLength: 1, maxLength: 4 })
      .map((chars) => chars.join(""));
    const words = fc
      .array(fc.constantFrom("a", "b", "c", "1", "2", " ", "z"), { maxLength: 40 })
      .map((c) => c.join(""));
    fc.assert(
      fc.property(boundedNonEmpty, mask, words, (source, maskText, sample) => {
        const outcome = compileAction(parseAction({ redact: { pattern: source, mask: maskText } })).apply(
          { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: sample } }] },
          tencentCodec,
        );
        const result = outcome.kind === "changed" ? tencentCodec.text(outcome.content) : sample;
        expect(compilePattern(source).test(result), `${source} / ${maskText} on ${sample} → ${result}`).toBe(
          false,
        );
      }),
      SETTINGS,
    );
  });

  it("turn any string into a pattern or a RulesError, quickly", () => {
    const syntax = fc
      .array(
        fc.constantFrom(
          ..."()[]{}*+?|\\^$.,-:=!<>Pp0123456789aAzZ_ ".split(""),
          "(?",
          "(?P<",
          "\\p{",
          "{1000}",
          "中",
        ),
        {
          maxLength: 300,
        },
      )
      .map((parts) => parts.join(""));
    const anything = fc.oneof(
      syntax,
      fc.string({ unit: "binary", maxLength: 600 }),
      fc.string({ maxLength: 40 }),
    );
    let slowest = 0;
    fc.assert(
      fc.property(anything, text, (source, sample) => {
        const started = performance.now();
        try {
          const compiled = compilePattern(source);
          compiled.test(sample);
          compiled.test(sample.repeat(50));
        } catch (thrown: unknown) {
          expect(thrown).toBeInstanceOf(RulesError);
        }
        slowest = Math.max(slowest, performance.now() - started);
      }),
      { ...SETTINGS, numRuns: 500 },
    );
    expect(slowest).toBeLessThan(1_000);
  });

  it("a rules file of anything is a RuleSet or a RulesError", () => {
    const ruleish = fc.record(
      {
        id: fc.oneof(fc.constantFrom("a", "b", "a-1"), fc.string()),
        on: fc.oneof(fc.constantFrom("after-send", "before-send"), fc.jsonValue()),
        match: fc.oneof(
          fc.dictionary(fc.constantFrom("provider", "text", "kind", "customData", "x"), fc.jsonValue()),
          fc.jsonValue(),
        ),
        action: fc.oneof(
          fc.dictionary(
            fc.constantFrom("replace", "redact", "mergeCustomData", "replaceText"),
            fc.jsonValue(),
            { maxKeys: 2 },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.record({ rules: fc.array(ruleish, { maxLength: 4 }) }), fc.jsonValue()),
        (input) => {
          try {
            expect(RuleSet.parse(input)).toBeInstanceOf(RuleSet);
          } catch (thrown: unknown) {
            expect(thrown).toBeInstanceOf(RulesError);
            expect((thrown as RulesError).message).toMatch(/^rules: /);
          }
        },
      ),
      SETTINGS,
    );
  });
});

const KINDS: readonly Kind[] = ["c2c", "group", "p2p", "team", "superteam"];
const small = fc.constantFrom("x", "y");
const jsonSmall = fc.oneof(
  fc.constantFrom(1, "1", true, null, "en"),
  fc.constant({ a: [1] }),
  fc.constant([1, "a"]),
);

interface MatchSpec {
  provider?: "tencent" | "netease";
  appId?: string;
  kind?: Kind[];
  conversation?: string;
  sender?: string;
  text?: string;
  customData?: Record<string, unknown>;
}
const matchSpec: fc.Arbitrary<MatchSpec> = fc.record(
  {
    provider: fc.constantFrom("tencent" as const, "netease" as const),
    appId: small,
    kind: fc.uniqueArray(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 3 }),
    conversation: small,
    sender: small,
    text: fc.constantFrom("a", "^b", "c$", "\\d+", "(?i)A"),
    customData: fc.dictionary(fc.constantFrom("k", "l"), jsonSmall, { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);

const subjectArb = fc.record({
  provider: fc.constantFrom("tencent" as const, "netease" as const),
  appId: small,
  kind: fc.constantFrom(...KINDS),
  conversation: small,
  sender: fc.option(small, { nil: undefined }),
  text,
  customData: fc.option(
    fc.oneof(
      fc.dictionary(fc.constantFrom("k", "l", "m"), jsonSmall, { maxKeys: 3 }).map((o) => JSON.stringify(o)),
      fc.constantFrom("", "plain", "[1]"),
    ),
    { nil: undefined },
  ),
});

type SubjectSpec = typeof subjectArb extends fc.Arbitrary<infer T> ? T : never;

function toSubject(spec: SubjectSpec): RuleSubject {
  const content: Content =
    spec.provider === "tencent"
      ? {
          MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: spec.text } }],
          ...(spec.customData === undefined ? {} : { CloudCustomData: spec.customData }),
        }
      : { text: spec.text, ...(spec.customData === undefined ? {} : { extension: spec.customData }) };
  return {
    provider: spec.provider,
    appId: spec.appId,
    kind: spec.kind,
    conversation: spec.conversation,
    ...(spec.sender === undefined ? {} : { sender: spec.sender }),
    content,
  };
}

/** The reference: every condition written out naively on the spec (JSON equality by canonical text). */
function referenceMatch(match: MatchSpec, spec: SubjectSpec): boolean {
  const canonical = (value: unknown): string =>
    JSON.stringify(value, (_key, inner: unknown) =>
      inner !== null && typeof inner === "object" && !Array.isArray(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1)))
        : inner,
    );
  if (match.provider !== undefined && match.provider !== spec.provider) return false;
  if (match.appId !== undefined && match.appId !== spec.appId) return false;
  if (match.kind !== undefined && !match.kind.includes(spec.kind)) return false;
  if (match.conversation !== undefined && match.conversation !== spec.conversation) return false;
  if (match.sender !== undefined && match.sender !== spec.sender) return false;
  if (match.customData !== undefined) {
    let data: unknown;
    try {
      data = JSON.parse(spec.customData ?? "");
    } catch {
      return false;
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) return false;
    for (const [key, value] of Object.entries(match.customData)) {
      if (!(key in data) || canonical((data as Record<string, unknown>)[key]) !== canonical(value))
        return false;
    }
  }
  if (match.text !== undefined) {
    const flags = match.text.startsWith("(?i)") ? "iu" : "u";
    if (!new RegExp(match.text.replace("(?i)", ""), flags).test(spec.text)) return false;
  }
  return true;
}

describe("rule matching (property)", () => {
  it("agrees with a naive reference on every condition", () => {
    fc.assert(
      fc.property(matchSpec, subjectArb, (match, spec) => {
        const rule = RuleSet.parse({ rules: [{ id: "r", match, action: { replaceText: { text: "z" } } }] })
          .rules[0];
        const codec = spec.provider === "tencent" ? tencentCodec : neteaseCodec;
        expect(rule?.matches(toSubject(spec), codec)).toBe(referenceMatch(match, spec));
      }),
      { ...SETTINGS, numRuns: 1_000 },
    );
  });
});

describe("loop safety (property)", () => {
  const actionArb = fc.oneof(
    fc
      .tuple(fc.constantFrom("a", "b+", "\\d"), fc.constantFrom("aa", "b", "$&$&", "", "1"))
      .map(([pattern, replacement]) => ({ replace: { pattern, with: replacement } })),
    fc.constantFrom(
      { replace: { pattern: "(a)(b)?", with: "$2$1$1" } },
      { replace: { pattern: "(1)", with: `\${1}a` } },
    ),
    fc.record({
      redact: fc.record({
        pattern: fc.constantFrom("a", "b", "\\d+", "[ab]c"),
        mask: fc.constantFrom("a", "*", "", "1b"),
      }),
    }),
    fc.record({ mergeCustomData: fc.dictionary(fc.constantFrom("k", "l"), jsonSmall, { maxKeys: 2 }) }),
    fc.record({ replaceText: fc.record({ text: fc.constantFrom("a", "b1", "z") }) }),
  );
  const rulesArb = fc
    .array(fc.record({ match: matchSpec, action: actionArb }), { minLength: 1, maxLength: 8 })
    .map((rules) => RuleSet.parse({ rules: rules.map((rule, i) => ({ id: `r${i}`, ...rule })) }));

  it("re-evaluating a result, excluding the rules that made it, never applies a rule twice and settles", () => {
    fc.assert(
      fc.property(rulesArb, subjectArb, (set, spec) => {
        const codec = spec.provider === "tencent" ? tencentCodec : neteaseCodec;
        let subject = toSubject(spec);
        const applied = new Set<string>();
        // Each pass either applies a rule not applied before or changes nothing, so passes end.
        for (let pass = 0; pass <= set.rules.length + 1; pass++) {
          const result = evaluate(set.rules, subject, codec, { budgetMs: 1_000, exclude: applied });
          expect(result.timedOut).toBe(false);
          if (result.steps.length === 0) return;
          for (const step of result.steps) {
            expect(applied.has(step.ruleId)).toBe(false);
            applied.add(step.ruleId);
          }
          // Each step is a change, and each rule appears once per pass.
          expect(new Set(result.steps.map((step) => step.ruleId)).size).toBe(result.steps.length);
          const last = result.steps.at(-1);
          if (last) subject = { ...subject, content: last.content };
        }
        throw new Error("evaluation did not settle");
      }),
      SETTINGS,
    );
  });

  it("never throws on malformed content", () => {
    const odd = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }));
    const content = fc.oneof(
      // Any value in the fields the codecs read, but MsgBody's elements are objects: the callback schema
      // admits nothing else, and the Tencent codec reads each element's MsgType.
      fc.dictionary(fc.constantFrom("CloudCustomData", "text", "extension", "x"), odd),
      fc.record({ MsgBody: odd.filter((value) => !Array.isArray(value)) }),
      fc.record({
        MsgBody: fc.array(
          fc.record({
            MsgType: fc.constantFrom("TIMTextElem", "TIMFaceElem", 3),
            MsgContent: fc.oneof(fc.record({ Text: odd }), odd),
          }),
          { maxLength: 3 },
        ),
        CloudCustomData: odd,
      }),
    );
    fc.assert(
      fc.property(rulesArb, subjectArb, content, (set, spec, raw) => {
        const subject = { ...toSubject(spec), content: raw as Content };
        for (const codec of [tencentCodec, neteaseCodec]) {
          const result = evaluate(set.rules, subject, codec, { budgetMs: 1_000 });
          expect(result.timedOut).toBe(false);
        }
      }),
      SETTINGS,
    );
  });

  it("gives the same result on a RuleSet's own list (one pass for all patterns) as on a copy (one per rule)", () => {
    fc.assert(
      fc.property(rulesArb, subjectArb, (set, spec) => {
        const codec = spec.provider === "tencent" ? tencentCodec : neteaseCodec;
        const subject = toSubject(spec);
        const list = set.on("after-send");
        expect(evaluate(list, subject, codec, { budgetMs: 1_000 })).toEqual(
          evaluate([...list], subject, codec, { budgetMs: 1_000 }),
        );
      }),
      SETTINGS,
    );
  });

  it("a second pass over the result, every rule that applied excluded, adds nothing when the rules touch disjoint things", () => {
    // Rules that each redact their own letter: none can create or remove another's match.
    const set = RuleSet.parse({
      rules: ["a", "b", "c"].map((letter) => ({
        id: `redact-${letter}`,
        match: { text: letter },
        action: { redact: { pattern: `${letter}+`, mask: letter.toUpperCase() } },
      })),
    });
    fc.assert(
      fc.property(text, (sample) => {
        const subject: RuleSubject = {
          provider: "netease",
          appId: "x",
          kind: "p2p",
          conversation: "c",
          content: { text: sample },
        };
        const first = evaluate(set.rules, subject, neteaseCodec, { budgetMs: 1_000 });
        const content = first.steps.at(-1)?.content ?? subject.content;
        const again = evaluate(set.rules, { ...subject, content }, neteaseCodec, {
          budgetMs: 1_000,
          exclude: new Set(first.steps.map((step) => step.ruleId)),
        });
        expect(again.steps).toEqual([]);
      }),
      SETTINGS,
    );
  });
});
