import { ALLOW, type DecideHook, type Decision, withBudget } from "./decide.ts";
import { asError } from "./errors.ts";
import { callbackForwardRequest, ForwardFailure } from "./forwarding.ts";
import type { ObservedMessage, ProviderName } from "./model.ts";
import type { CallbackRequest } from "./provider.ts";
import type { CallbackRelay, ForwardAnswer, Forwarder, ForwardRequest } from "./relay.ts";

/**
 * What a before-send gets when the app's answer cannot be used (CALLBACK_FORWARD_FALLBACK): delivered as
 * sent, or refused with `code` (`block` alone: 1).
 */
export type ForwardFallback =
  | { readonly action: "allow" }
  | { readonly action: "block"; readonly code: number };

/**
 * Why the fallback applied: the forward failed (`timeout`, `unreachable`, `too_large`, `misconfigured`: the
 * app's secret is unusable, `unexpected`), the app answered a status other than 200 (`app_status`), or an
 * answer that is not a valid before-send answer (`invalid`).
 */
export type FallbackReason =
  | "timeout"
  | "unreachable"
  | "too_large"
  | "app_status"
  | "invalid"
  | "misconfigured"
  | "unexpected";

/** Where the relay reports a fallback (the wiring logs and counts it: never a body, a query or a secret). */
export interface AppRelayObserver {
  fellBack?(provider: ProviderName, reason: FallbackReason, detail: string): void;
}

export interface AppRelayOptions {
  /** The provider's relay, when its forward URL is set. */
  readonly relayOf: (provider: ProviderName) => CallbackRelay | undefined;
  readonly forwarder: Forwarder;
  /** How long the app has to answer (CALLBACK_FORWARD_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly fallback: ForwardFallback;
  readonly observer?: AppRelayObserver;
  readonly now?: () => Date;
}

/** The app's hook: the first *decide* hook, before the rules; its rewrites are the app's (`source: "app"`). */
export const APP_HOOK_NAME = "app";

/**
 * The hook's decide budget beyond its own timeout: when the app is late the hook answers the fallback
 * itself, before *decide* would cut it off and skip it (a skipped hook allows, whatever the policy).
 */
export const APP_HOOK_MARGIN_MS = 50;

export interface AppRelay {
  /** The `app` hook: a synchronous callback forwarded, the app's answer as the decision. */
  readonly hook: DecideHook;
  /**
   * A synchronous callback forwarded to the app: its validated answer, or the fallback policy (reported).
   * `message` is the callback's message when im-edit could read it. Never throws.
   */
  answer(
    provider: ProviderName,
    relay: CallbackRelay,
    request: CallbackRequest,
    message?: ObservedMessage,
    signal?: AbortSignal,
  ): Promise<Decision>;
}

/**
 * The relay's synchronous side (issue 16): a before-send forwarded to the app's own handler with a strict
 * budget, its answer validated by the provider's relay (`CallbackRelay.decision`) and used as the
 * decision: allow, block with the app's code, drop, or rewrite (which the rules then see). A timeout, a
 * failure, a status other than 200, an answer over the cap or an invalid one gets the fallback policy
 * instead, never the answer passed through blindly.
 */
export function createAppRelay(options: AppRelayOptions): AppRelay {
  const now = options.now ?? (() => new Date());

  const fellBack = (provider: ProviderName, reason: FallbackReason, detail: string): Decision => {
    options.observer?.fellBack?.(provider, reason, detail);
    const { fallback } = options;
    return fallback.action === "allow"
      ? ALLOW
      : { action: "block", code: fallback.code, info: `no valid answer from the app (${reason})` };
  };

  // A ForwardFailure speaks our own words; anything else is named only (its message may quote the URL).
  const failed = (provider: ProviderName, thrown: unknown): Decision => {
    const error = asError(thrown);
    const detail = error instanceof ForwardFailure ? error.message : `the forward failed: ${error.name}`;
    return fellBack(provider, failureReason(error), detail);
  };

  const answer: AppRelay["answer"] = async (provider, relay, request, message, signal) => {
    let forward: ForwardRequest;
    try {
      forward = callbackForwardRequest(request, provider, relay, now(), message?.id);
    } catch (thrown: unknown) {
      return failed(provider, thrown);
    }
    let answered: ForwardAnswer;
    try {
      // Cut at the timeout whatever the forwarder does with it, or when decide's signal aborts.
      answered = await withBudget(
        (cut) => options.forwarder.send(forward, options.timeoutMs, cut),
        options.timeoutMs,
        () =>
          new ForwardFailure(true, {
            code: "timeout",
            message: `the app did not answer within ${options.timeoutMs} ms`,
          }),
        signal,
      );
    } catch (thrown: unknown) {
      return failed(provider, thrown);
    }
    if (answered.status !== 200) {
      return fellBack(provider, "app_status", `the app answered ${answered.status}`);
    }
    const decision = relay.decision?.(answered, message) ?? {
      invalid: `${provider} has no synchronous answers to read`,
    };
    return "invalid" in decision ? fellBack(provider, "invalid", decision.invalid) : decision;
  };

  return {
    answer,
    hook: {
      name: APP_HOOK_NAME,
      budgetMs: options.timeoutMs + APP_HOOK_MARGIN_MS,
      source: "app",
      decide: async (context) => {
        const relay = options.relayOf(context.provider);
        if (!relay?.synchronous(context.request)) return undefined;
        return answer(context.provider, relay, context.request, context.message, context.signal);
      },
    },
  };
}

const REASONS: ReadonlySet<string> = new Set<FallbackReason>([
  "timeout",
  "unreachable",
  "too_large",
  "app_status",
  "misconfigured",
]);

/** A failed forward's reason, from the delivery core's failure codes. */
function failureReason(error: Error): FallbackReason {
  if (!(error instanceof ForwardFailure)) return "unexpected";
  const { code } = error.reason;
  return REASONS.has(code) ? (code as FallbackReason) : "unexpected";
}
