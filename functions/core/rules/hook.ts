import type { ContentCodec } from "../codec.ts";
import type { DecideContext, DecideHook, Decision } from "../decide.ts";
import type { ProviderName } from "../model.ts";
import { evaluate, type RuleSet, type RuleSubject } from "./engine.ts";

/** The rules in force: a holder, so the local stack can swap them when the file changes. */
export interface RulesHolder {
  current(): RuleSet;
}

/** A holder of a fixed set (AWS: the rules come with the deployment). */
export const fixedRules = (rules: RuleSet): RulesHolder => ({ current: () => rules });

/** Where the hook reports what it could not do (the wiring logs and counts it). */
export interface RulesHookObserver {
  /** A rule matched but could not act (`not_json`: mergeCustomData on custom data that is not JSON). */
  ruleSkipped?(ruleId: string, reason: string): void;
  /** The rules ran out of their budget: the ones left did not run (the message went out as far as it got). */
  timedOut?(ran: number): void;
}

export interface RulesHookOptions {
  readonly rules: RulesHolder;
  /** The provider's content codec (its manifest's); a provider without one gets no before-send rules. */
  readonly codecOf: (provider: ProviderName) => ContentCodec | undefined;
  /** All before-send rules of one callback together (the decide stage may cut it further). */
  readonly budgetMs?: number;
  readonly now?: () => number;
  readonly observer?: RulesHookObserver;
}

/** The rules' share of the decide budget unless configured: matching 100 rules takes well under 1 ms. */
export const DEFAULT_RULES_BUDGET_MS = 200;

export const RULES_HOOK_NAME = "rules";

/**
 * The before-send rules as a *decide* hook: the `before-send` rules in file order, each at most once,
 * each seeing the content after the earlier ones (and after the app's own answer, which runs first).
 * Answers a rewrite with one step per rule that changed the message (each becomes a version with
 * `source: "auto"` and its `ruleId` once the after-send arrives), or nothing. No provider call: the
 * provider delivers the rewrite itself.
 */
export function rulesHook(options: RulesHookOptions): DecideHook {
  const budgetMs = options.budgetMs ?? DEFAULT_RULES_BUDGET_MS;
  return {
    name: RULES_HOOK_NAME,
    budgetMs,
    source: "auto",
    decide: async (context: DecideContext): Promise<Decision | undefined> => {
      const rules = options.rules.current().on("before-send");
      if (rules.length === 0 || context.signal.aborted) return undefined;
      const codec = options.codecOf(context.provider);
      if (!codec) return undefined;
      const result = evaluate(rules, subjectOf(context), codec, {
        budgetMs,
        ...(options.now ? { now: options.now } : {}),
      });
      for (const skip of result.skipped) options.observer?.ruleSkipped?.(skip.ruleId, skip.reason);
      if (result.timedOut) options.observer?.timedOut?.(result.steps.length);
      const last = result.steps.at(-1);
      if (!last) return undefined;
      return {
        action: "rewrite",
        content: last.content,
        ruleId: last.ruleId,
        steps: result.steps.map((step) => ({ content: step.content, ruleId: step.ruleId })),
      };
    },
  };
}

function subjectOf(context: DecideContext): RuleSubject {
  const { message } = context;
  return {
    provider: context.provider,
    appId: context.appId,
    kind: message.kind,
    conversation: message.conversation,
    ...(message.sender !== undefined ? { sender: message.sender } : {}),
    content: context.content,
  };
}
