import { asError } from "./errors.ts";
import {
  type Content,
  contentHash,
  type ObservedMessage,
  type ProviderName,
  type RewriteSource,
  type RewriteStep,
} from "./model.ts";
import type { CallbackRequest } from "./provider.ts";

/**
 * What the *decide* stage answers a before-send callback with; the provider renders its reply from it
 * (`CallbackProvider.reply`).
 * - `allow`: deliver as sent.
 * - `block`: refuse; `code` is the app's own code where the provider lets one through (Tencent: C2C
 *   120001-130000, group 10100-10200; any other code is sent as the generic refusal), `info` the text.
 * - `drop`: a silent discard (Tencent group `ErrorCode 2`: not delivered, success to the sender). Where the
 *   provider documents no silent discard (Tencent C2C) it is rendered as a refusal.
 * - `rewrite`: deliver with these fields replaced (Tencent: `MsgBody` and/or `CloudCustomData`). A hook that
 *   rewrote in several steps (one per rule) lists them in `steps`, each the whole content after it, the
 *   last one equal to the content with `content` laid over it: each becomes a version of its own.
 */
export type Decision =
  | { readonly action: "allow" }
  | { readonly action: "block"; readonly code?: number; readonly info: string; readonly ruleId?: string }
  | { readonly action: "drop"; readonly ruleId?: string }
  | {
      readonly action: "rewrite";
      readonly content: Content;
      readonly ruleId?: string;
      readonly steps?: readonly { readonly content: Content; readonly ruleId?: string }[];
    };

export const ALLOW: Decision = { action: "allow" };

/** What a hook sees: one before-send message, as the sender sent it and as earlier hooks rewrote it. */
export interface DecideContext {
  readonly provider: ProviderName;
  readonly appId: string;
  /** The provider's command (Tencent `CallbackCommand`), when it names one. */
  readonly command?: string;
  /** The message (a group before-send has a provisional id: the provider assigns the key later). */
  readonly message: ObservedMessage;
  /** What the sender sent. */
  readonly original: Content;
  /** What would be delivered now: the original with every earlier hook's rewrite laid over it. */
  readonly content: Content;
  /** The verified request, bytes untouched (the relay forwards them). */
  readonly request: CallbackRequest;
  /** Aborted when the hook's budget is over: a hook stops its work (a forward, a match) then. */
  readonly signal: AbortSignal;
}

/**
 * A budgeted before-send hook: the app's own answer through the relay first, inline rules after (issues
 * 15 and 16). `undefined` or `allow`: no objection, the next hook runs. `block`/`drop`: the first one
 * wins, no further hook runs. `rewrite`: laid over the content, and the next hook sees the result. A hook
 * that throws, answers nothing valid or exceeds its budget is skipped (reported), never fails the callback.
 */
export interface DecideHook {
  readonly name: string;
  readonly budgetMs: number;
  /** Whom its rewrites speak for, in history: the app (the relay) or im-edit's rules (`auto`, the default). */
  readonly source?: RewriteSource;
  decide(context: DecideContext): Promise<Decision | undefined>;
}

/** What the stage decided, and which hooks made it so. */
export interface Decided {
  readonly decision: Decision;
  /** The hook whose block/drop won, or every hook whose rewrite is in the result, in order. */
  readonly by: readonly string[];
  /** With a rewrite: the whole content that will be delivered. */
  readonly delivered?: Content;
  /** With a rewrite: every step in order (the last one's content is `delivered`). */
  readonly steps?: readonly RewriteStep[];
}

export type HookSkip = "threw" | "timeout" | "invalid";

export interface DecideOptions {
  /** All hooks together get at most this long (a hook's own budget is cut to what is left). */
  readonly budgetMs: number;
  readonly now?: () => number;
  readonly onSkip?: (hook: string, reason: HookSkip, error: Error) => void;
}

/** Runs the hooks in order; see DecideHook. Never throws. */
export async function decide(
  hooks: readonly DecideHook[],
  context: Omit<DecideContext, "content" | "signal">,
  options: DecideOptions,
): Promise<Decided> {
  const now = options.now ?? Date.now;
  const endsAt = now() + options.budgetMs;
  let changed: Record<string, unknown> = {};
  const rewrittenBy: string[] = [];
  const steps: RewriteStep[] = [];
  let ruleId: string | undefined;
  for (const hook of hooks) {
    const budget = Math.min(hook.budgetMs, endsAt - now());
    if (budget <= 0) {
      options.onSkip?.(hook.name, "timeout", new Error("no time left in the decide budget"));
      continue;
    }
    const content = { ...context.original, ...changed };
    let decision: Decision | undefined;
    try {
      decision = await withBudget(
        (signal) => hook.decide({ ...context, content, signal }),
        budget,
        () => new HookTimeout(`hook ${hook.name} did not decide within ${budget} ms`),
      );
    } catch (thrown: unknown) {
      const error = asError(thrown);
      options.onSkip?.(hook.name, error instanceof HookTimeout ? "timeout" : "threw", error);
      continue;
    }
    if (decision === undefined || decision.action === "allow") continue;
    const problem = invalid(decision);
    if (problem !== undefined) {
      options.onSkip?.(hook.name, "invalid", new Error(problem));
      continue;
    }
    if (decision.action === "block" || decision.action === "drop") return { decision, by: [hook.name] };
    if (decision.action === "rewrite") {
      const after = { ...content, ...decision.content };
      const made = stepsOf(hook, decision, content, after);
      if (made === undefined) {
        options.onSkip?.(hook.name, "invalid", new Error("rewrite steps must end at the rewrite's content"));
        continue;
      }
      steps.push(...made);
      changed = { ...changed, ...decision.content };
      rewrittenBy.push(hook.name);
      ruleId = decision.ruleId ?? ruleId;
    }
  }
  const delivered = { ...context.original, ...changed };
  // Rewrites that end where the sender started change nothing: allow, so the provider delivers as sent.
  if (rewrittenBy.length === 0 || contentHash(delivered) === contentHash(context.original))
    return { decision: ALLOW, by: [] };
  return {
    decision: { action: "rewrite", content: changed, ...(ruleId !== undefined ? { ruleId } : {}) },
    by: rewrittenBy,
    delivered,
    steps,
  };
}

/**
 * A hook's rewrite as history steps, each the whole content after it (a step that changes nothing is
 * left out); undefined when the steps do not end where the rewrite does.
 */
function stepsOf(
  hook: DecideHook,
  decision: Extract<Decision, { action: "rewrite" }>,
  before: Content,
  after: Content,
): RewriteStep[] | undefined {
  const source = hook.source ?? "auto";
  const given = decision.steps ?? [
    { content: decision.content, ...(decision.ruleId !== undefined ? { ruleId: decision.ruleId } : {}) },
  ];
  const steps: RewriteStep[] = [];
  let current = before;
  for (const step of given) {
    const next = { ...current, ...step.content };
    if (contentHash(next) === contentHash(current)) continue;
    steps.push({
      content: next,
      source,
      ...(step.ruleId !== undefined ? { ruleId: step.ruleId } : {}),
      by: hook.name,
    });
    current = next;
  }
  return contentHash(current) === contentHash(after) ? steps : undefined;
}

class HookTimeout extends Error {
  override readonly name = "HookTimeout";
}

/**
 * `work` cut at `budgetMs` whatever it does with the signal it is given (a hook or a forwarder that ignores
 * its budget), and when `signal` aborts: the signal `work` got is aborted and the promise rejected with
 * `expired()`. What `work` answers or throws later is no longer anyone's.
 */
export async function withBudget<T>(
  work: (signal: AbortSignal) => Promise<T>,
  budgetMs: number,
  expired: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let cut: (() => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    cut = () => {
      const error = expired();
      controller.abort(error);
      reject(error);
    };
    timer = setTimeout(cut, budgetMs);
    if (signal?.aborted) cut();
    else signal?.addEventListener("abort", cut, { once: true });
  });
  // Started a tick later, so that a synchronous throw is a rejection like any other.
  const working = Promise.resolve().then(() => work(controller.signal));
  try {
    return await Promise.race([working, ended]);
  } finally {
    clearTimeout(timer);
    if (cut) signal?.removeEventListener("abort", cut);
    working.catch(() => {}); // a late answer or failure is no longer anyone's
    ended.catch(() => {});
  }
}

/** Why a decision cannot be used, if it cannot (hooks are code from later issues and apps: trust no shape). */
function invalid(decision: Decision): string | undefined {
  switch (decision.action) {
    case "block":
      if (typeof decision.info !== "string") return "block needs info (a string)";
      if (decision.code !== undefined && !Number.isSafeInteger(decision.code))
        return "block code must be an integer";
      return undefined;
    case "drop":
      return undefined;
    case "rewrite": {
      const content = decision.content as unknown;
      if (content === null || typeof content !== "object" || Array.isArray(content))
        return "rewrite needs content (an object)";
      if (Object.keys(content).length === 0) return "rewrite content is empty";
      const steps = decision.steps as unknown;
      if (steps === undefined) return undefined;
      if (!Array.isArray(steps) || steps.length === 0) return "rewrite steps must be a non-empty list";
      for (const step of steps as unknown[]) {
        const stepContent = (step as { content?: unknown } | null)?.content;
        if (stepContent === null || typeof stepContent !== "object" || Array.isArray(stepContent))
          return "each rewrite step needs content (an object)";
        const stepRule = (step as { ruleId?: unknown }).ruleId;
        if (stepRule !== undefined && typeof stepRule !== "string") return "a step's ruleId must be a string";
      }
      return undefined;
    }
    default:
      return `unknown action ${JSON.stringify((decision as { action?: unknown }).action)}`;
  }
}
