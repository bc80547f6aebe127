import * as z from "../../zod.ts";
import { type Kind, PROVIDER_NAME_PATTERN, type ProviderName } from "../model.ts";
import { compilePattern, compileTemplate, patternProblem, RULE_LIMITS } from "./patterns.ts";

/**
 * The rules file (`IM_EDIT_RULES`, JSON or YAML): `{ "rules": [ { id, on?, match, action } ] }`.
 * Strict objects everywhere, so a misspelt key is an error rather than a condition silently ignored.
 * Patterns are compiled here too (with the limits), so every problem is reported the same way: the
 * rule, the field path and the reason.
 */

const KINDS = ["c2c", "group", "p2p", "team", "superteam"] as const satisfies readonly Kind[];

export const RULE_ID_PATTERN = /^[a-z0-9-]{1,64}$/;

export const RuleTrigger = z.enum(["after-send", "before-send"]);
export type RuleTrigger = z.infer<typeof RuleTrigger>;

const Identifier = z.string().check(
  z.minLength(1),
  z.refine(
    (value) => Buffer.byteLength(value) <= RULE_LIMITS.identifierBytes,
    `must be at most ${RULE_LIMITS.identifierBytes} bytes of UTF-8`,
  ),
);

const Pattern = z.string().check(
  z.superRefine((value, context) => {
    const problem = patternProblem(value);
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem, input: value });
  }),
);

const ProviderNameSchema = z.pipe(
  z.string().check(z.regex(PROVIDER_NAME_PATTERN, "must be a provider name such as tencent or netease")),
  z.transform((value) => value as ProviderName),
);

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? "");

const JsonObject = z
  .record(z.string().check(z.minLength(1)), z.unknown())
  .check(
    z.refine(
      (value) => jsonBytes(value) <= RULE_LIMITS.jsonBytes,
      `must be at most ${RULE_LIMITS.jsonBytes} bytes as JSON`,
    ),
  );

const Text = z.string().check(z.maxLength(RULE_LIMITS.textLength));

export const RuleMatch = z.strictObject({
  provider: z.optional(ProviderNameSchema),
  appId: z.optional(Identifier),
  kind: z.optional(z.array(z.enum(KINDS)).check(z.minLength(1))),
  conversation: z.optional(Identifier),
  sender: z.optional(Identifier),
  /** A pattern on the codec's text (Tencent: the text elements joined; Yunxin: `text`). */
  text: z.optional(Pattern),
  /** Key → value in the parsed custom data object; values compared as JSON. */
  customData: z.optional(
    JsonObject.check(
      z.refine(
        (value) => Object.keys(value).length <= RULE_LIMITS.customDataKeys,
        `must have at most ${RULE_LIMITS.customDataKeys} keys`,
      ),
    ),
  ),
});
export type RuleMatch = z.infer<typeof RuleMatch>;

const Replace = z
  .strictObject({
    pattern: Pattern,
    /** `$1`-`$9`, `${n}`, `${name}`, `$&`, `$$` (patterns.ts compileTemplate). */
    with: Text,
  })
  .check(
    z.superRefine((value, context) => {
      // A pattern that does not compile has its own issue already.
      if (patternProblem(value.pattern) !== undefined) return;
      const problem = compileTemplate(value.with, compilePattern(value.pattern));
      if (typeof problem === "string") {
        context.addIssue({ code: "custom", message: problem, input: value.with, path: ["with"] });
      }
    }),
  );

const Redact = z.strictObject({
  pattern: Pattern,
  /** Replaces each (non-empty) match, literally. */
  mask: z._default(Text, "***"),
});

const ReplaceText = z.strictObject({ text: Text.check(z.minLength(1)) });

const ACTION_KEYS = ["replace", "redact", "mergeCustomData", "replaceText"] as const;

const ActionFields = z
  .strictObject({
    replace: z.optional(Replace),
    redact: z.optional(Redact),
    mergeCustomData: z.optional(JsonObject),
    replaceText: z.optional(ReplaceText),
  })
  .check(
    z.superRefine((value, context) => {
      const given = ACTION_KEYS.filter((key) => value[key] !== undefined);
      if (given.length !== 1) {
        const got = given.length === 0 ? "none" : given.join(", ");
        context.addIssue({
          code: "custom",
          message: `exactly one of ${ACTION_KEYS.join(", ")} is required (got ${got})`,
          input: value,
        });
      }
    }),
  );

/** Exactly one action. */
export const RuleAction = z.pipe(
  ActionFields,
  z.transform((value): ActionShape => {
    if (value.replace !== undefined) return { replace: value.replace };
    if (value.redact !== undefined) return { redact: value.redact };
    if (value.mergeCustomData !== undefined) return { mergeCustomData: value.mergeCustomData };
    // The check above let exactly one through.
    return { replaceText: value.replaceText as { text: string } };
  }),
);
type ActionShape =
  | { readonly replace: { readonly pattern: string; readonly with: string } }
  | { readonly redact: { readonly pattern: string; readonly mask: string } }
  | { readonly mergeCustomData: Readonly<Record<string, unknown>> }
  | { readonly replaceText: { readonly text: string } };
export type RuleAction = z.infer<typeof RuleAction>;

export const Rule = z
  .strictObject({
    id: z.string().check(z.regex(RULE_ID_PATTERN, "must be 1-64 characters of a-z, 0-9 and -")),
    on: z._default(RuleTrigger, "after-send"),
    match: RuleMatch,
    action: RuleAction,
  })
  .check(
    z.superRefine((rule, context) => {
      // Only Tencent answers a before-send callback with rewritten content; a rule without a provider
      // runs there only for providers that have such callbacks.
      const provider = rule.match?.provider;
      if (rule.on === "before-send" && provider !== undefined && provider !== "tencent") {
        context.addIssue({
          code: "custom",
          message: `before-send rules run only on Tencent's before-send callbacks: provider must be "tencent" or absent`,
          input: provider,
          path: ["match", "provider"],
        });
      }
    }),
  );
export type Rule = z.infer<typeof Rule>;

export const RulesFile = z.strictObject({
  rules: z.array(Rule).check(z.maxLength(RULE_LIMITS.rules, `must hold at most ${RULE_LIMITS.rules} rules`)),
});
export type RulesFile = z.infer<typeof RulesFile>;
