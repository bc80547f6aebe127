import { describe, expect, it } from "vitest";
import { parseAction, RULE_LIMITS, RuleSet, RulesError } from "../../../../functions/core/rules/engine.ts";

/** The message RuleSet.parse throws for `input`, as it would for a file named rules.json. */
function problem(input: unknown): string {
  try {
    RuleSet.parse(input, "rules.json");
  } catch (thrown: unknown) {
    expect(thrown).toBeInstanceOf(RulesError);
    return (thrown as RulesError).message;
  }
  throw new Error("expected RuleSet.parse to throw");
}

const rule = (fields: Record<string, unknown>) => ({
  id: "r",
  match: {},
  action: { replaceText: { text: "x" } },
  ...fields,
});

describe("RuleSet.parse errors", () => {
  it("names the file, the rule by id and index, the field and the reason", () => {
    // Prepare
    const input = {
      rules: [
        {
          id: "redact-phone",
          match: { text: "1[3-9\\d{9}" },
          action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } },
        },
      ],
    };
    // Act
    const message = problem(input);
    // Assess
    expect(message).toMatch(
      /^rules file rules\.json: rule "redact-phone" \(index 0\): match\.text: pattern is not valid: missing closing \]/,
    );
  });

  it("names a rule by its index alone when its id is missing or invalid", () => {
    expect(problem({ rules: [rule({ id: undefined, match: { text: "(" } })] })).toMatch(
      /^rules file rules\.json: rule at index 0: id: /,
    );
    expect(problem({ rules: [rule({}), rule({ id: "Bad_Id" })] })).toBe(
      "rules file rules.json: rule at index 1: id: must be 1-64 characters of a-z, 0-9 and -",
    );
    expect(problem({ rules: [rule({ id: "a".repeat(65) })] })).toMatch(/rule at index 0: id: must be 1-64/);
  });

  it("names both indexes of a duplicate id", () => {
    expect(problem({ rules: [rule({ id: "a" }), rule({ id: "b" }), rule({ id: "a" })] })).toBe(
      'rules file rules.json: rule "a" (index 2): id: duplicates the id of the rule at index 0',
    );
  });

  it("rejects unknown keys at every level", () => {
    expect(problem({ rules: [rule({ match: { txt: "x" } })] })).toMatch(
      /^rules file rules\.json: rule "r" \(index 0\): match: Unrecognized key: "txt"/,
    );
    expect(problem({ rules: [rule({ when: "always" })] })).toMatch(
      /rule "r" \(index 0\): Unrecognized key: "when"/,
    );
    expect(problem({ rules: [], version: 2 })).toMatch(
      /^rules file rules\.json: Unrecognized key: "version"/,
    );
  });

  it("wants exactly one action", () => {
    expect(problem({ rules: [rule({ action: {} })] })).toBe(
      'rules file rules.json: rule "r" (index 0): action: exactly one of replace, redact, mergeCustomData, replaceText is required (got none)',
    );
    expect(
      problem({
        rules: [rule({ action: { replaceText: { text: "a" }, redact: { pattern: "a" } } })],
      }),
    ).toMatch(/action: exactly one of .* \(got redact, replaceText\)$/);
  });

  it("checks replace templates against the pattern's groups", () => {
    const replace = (pattern: string, replacement: string) =>
      problem({ rules: [rule({ action: { replace: { pattern, with: replacement } } })] });
    expect(replace("(a)", "$2")).toBe(
      'rules file rules.json: rule "r" (index 0): action.replace.with: refers to group 2, but the pattern has 1 group',
    );
    expect(replace("(?P<who>a)", `\${whom}`)).toMatch(/action\.replace\.with: `\$\{whom\}` names no group/);
    expect(replace("a", "5$")).toMatch(/action\.replace\.with: `\$` at 1 must be followed by/);
    expect(replace("a", "${1")).toMatch(/action\.replace\.with: `\$\{` at 0 has no closing \}/);
    expect(replace("(", "x")).toMatch(/action\.replace\.pattern: pattern is not valid: missing closing \)/);
  });

  it("allows before-send rules on Tencent only", () => {
    expect(problem({ rules: [rule({ on: "before-send", match: { provider: "netease" } })] })).toBe(
      'rules file rules.json: rule "r" (index 0): match.provider: before-send rules run only on Tencent\'s before-send callbacks: provider must be "tencent" or absent',
    );
    expect(problem({ rules: [rule({ on: "sometimes" })] })).toMatch(
      /rule "r" \(index 0\): on: Invalid option: expected one of "after-send"\|"before-send"/,
    );
  });

  it("reports each field's type and shape with its path", () => {
    expect(problem({ rules: [rule({ match: { kind: ["c2c", "dm"] } })] })).toMatch(
      /rule "r" \(index 0\): match\.kind\[1\]: Invalid option/,
    );
    expect(problem({ rules: [rule({ match: { kind: [] } })] })).toMatch(/match\.kind: Too small/);
    expect(problem({ rules: [rule({ match: { provider: "Tencent!" } })] })).toMatch(
      /match\.provider: must be a provider name/,
    );
    expect(problem({ rules: [rule({ action: { replaceText: { text: "" } } })] })).toMatch(
      /action\.replaceText\.text: Too small/,
    );
    expect(problem({ rules: [rule({ action: { mergeCustomData: "x" } })] })).toMatch(
      /action\.mergeCustomData: Invalid input: expected record/,
    );
  });

  it("says what is wrong with the file as a whole", () => {
    expect(problem("rules")).toBe("rules file rules.json: Invalid input: expected object, received string");
    expect(problem({})).toBe(
      "rules file rules.json: rules: Invalid input: expected array, received undefined",
    );
    const many = Array.from({ length: RULE_LIMITS.rules + 1 }, (_, i) => rule({ id: `r${i}` }));
    expect(problem({ rules: many })).toBe(
      `rules file rules.json: rules: must hold at most ${RULE_LIMITS.rules} rules`,
    );
  });

  it("enforces the pattern limits", () => {
    const long = "a".repeat(RULE_LIMITS.patternLength + 1);
    expect(problem({ rules: [rule({ match: { text: long } })] })).toMatch(
      /match\.text: pattern is longer than 512 characters \(513\)$/,
    );
    expect(problem({ rules: [rule({ match: { text: "(?:x{1000}){1,6}" } })] })).toMatch(
      /match\.text: pattern is not valid: invalid repeat count/,
    );
    expect(
      problem({ rules: [rule({ match: { text: "a{1000}b{1000}c{1000}d{1000}e{1000}f{1000}" } })] }),
    ).toMatch(/match\.text: pattern is too complex: \d+ instructions, at most 5000/);
    expect(problem({ rules: [rule({ match: { text: "" } })] })).toMatch(/match\.text: pattern is empty$/);
    // Lookbehind and backreferences are not RE2: they would need backtracking.
    expect(problem({ rules: [rule({ match: { text: "(a)\\1" } })] })).toMatch(
      /pattern is not valid: invalid escape/,
    );
  });

  it("bounds custom data sizes", () => {
    const big = { blob: "x".repeat(RULE_LIMITS.jsonBytes) };
    expect(problem({ rules: [rule({ action: { mergeCustomData: big } })] })).toMatch(
      /action\.mergeCustomData: must be at most 4096 bytes as JSON/,
    );
    const keys = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
    expect(problem({ rules: [rule({ match: { customData: keys } })] })).toMatch(
      /match\.customData: must have at most 32 keys/,
    );
  });

  it("lists several problems, one per line, with the details as data", () => {
    // Prepare
    const input = { rules: [rule({ id: "a", match: { text: "(" } }), rule({ id: "b", action: {} })] };
    // Act
    let error: RulesError | undefined;
    try {
      RuleSet.parse(input);
    } catch (thrown: unknown) {
      if (thrown instanceof RulesError) error = thrown;
    }
    // Assess
    expect(error?.message.split("\n")).toEqual([
      'rules: rule "a" (index 0): match.text: pattern is not valid: missing closing ): `(`',
      '  rule "b" (index 1): action: exactly one of replace, redact, mergeCustomData, replaceText is required (got none)',
    ]);
    expect(error?.code).toBe("invalid_rules");
    expect(error?.details).toEqual([
      {
        index: 0,
        ruleId: "a",
        path: "match.text",
        reason: "pattern is not valid: missing closing ): `(`",
      },
      {
        index: 1,
        ruleId: "b",
        path: "action",
        reason: "exactly one of replace, redact, mergeCustomData, replaceText is required (got none)",
      },
    ]);
  });
});

describe("RuleSet.parse", () => {
  it("applies the defaults and indexes the rules", () => {
    // Act
    const set = RuleSet.parse({
      rules: [
        rule({ id: "a" }),
        rule({ id: "b", on: "before-send" }),
        rule({ id: "c", action: { redact: { pattern: "x" } } }),
      ],
    });
    // Assess
    expect(set.rules.map((r) => [r.id, r.on, r.index])).toEqual([
      ["a", "after-send", 0],
      ["b", "before-send", 1],
      ["c", "after-send", 2],
    ]);
    expect(set.get("c")?.rule.action).toEqual({ redact: { pattern: "x", mask: "***" } });
    expect(set.get("z")).toBeUndefined();
    expect(set.on("after-send").map((r) => r.id)).toEqual(["a", "c"]);
    expect(set.on("before-send").map((r) => r.id)).toEqual(["b"]);
  });

  it("has an empty set", () => {
    expect(RuleSet.EMPTY.rules).toEqual([]);
    expect(RuleSet.EMPTY.on("after-send")).toEqual([]);
    expect(RuleSet.parse({ rules: [] }).rules).toEqual([]);
  });
});

describe("parseAction", () => {
  it("validates an action given on its own, with the field path", () => {
    expect(parseAction({ redact: { pattern: "\\d+" } })).toEqual({
      redact: { pattern: "\\d+", mask: "***" },
    });
    expect(() => parseAction({ redact: { pattern: "(" } })).toThrow(
      /^action\.redact\.pattern: pattern is not valid: missing closing \)/,
    );
    expect(() => parseAction({})).toThrow(RulesError);
    expect(() => parseAction(null)).toThrow(/^action: Invalid input: expected object, received null/);
  });
});
