// What the callback path, the rules and the relay report, as `createDependencies` wires it: logged
// (never content, bodies or secrets) and counted.
import type { ForwardQueueObserver } from "../adapters/relay/index.ts";
import type { Config } from "../config.ts";
import type { CallbackObserver } from "../core/callbacks.ts";
import type { DomainEvent } from "../core/outbox.ts";
import type { AppRelayObserver } from "../core/relay-hook.ts";
import type { AutoEditsObserver } from "../core/rules/auto-edits.ts";
import { logger } from "../logger.ts";
import { count, FORWARD_FALLBACK_METRIC, FORWARD_LOST_METRIC, MISCONFIGURED_METRIC } from "../metrics.ts";
import { describeFallback } from "../relay-config.ts";

/**
 * A forward refused because the app's forward secret is unusable (the local queue's, the forwarder's):
 * every forward of that provider is refused until the secret is fixed, so logged at error level and
 * counted `Misconfigured` (alarmed on). `fields` name the forward, never its body or a secret.
 */
export function reportForwardRefused(fields: Readonly<Record<string, unknown>>): void {
  logger.error("forward refused: the app's forward secret is unusable", fields);
  count(MISCONFIGURED_METRIC);
}

/** The local forward queue's retries and dead letters: logged (never the body), a misconfiguration counted. */
export const LOCAL_FORWARD_OBSERVER: ForwardQueueObserver = {
  onRetry: (forward, attempts, reason, delayMs) =>
    logger.info("forward retried", {
      provider: forward.provider,
      forwardId: forward.id,
      attempts,
      reason: reason.code,
      error: reason.message,
      delayMs,
    }),
  onDeadLettered: (forward, reason) => {
    const fields = {
      ...(forward ? { provider: forward.provider, forwardId: forward.id } : {}),
      reason: reason.code,
      error: reason.message,
    };
    if (reason.code === "misconfigured") reportForwardRefused(fields);
    else logger.warn("forward dead-lettered (npm run redrive -- --replay delivers it again)", fields);
  },
};

/**
 * A before-send that got the fallback policy: logged (no body, no query, no secret) and counted
 * `ForwardFallback` (its reason a field); an unusable forward secret at error level, counted `Misconfigured`.
 */
export function appRelayObserver(config: Config): AppRelayObserver {
  const policy = describeFallback(config.callbackForwardFallback);
  return {
    fellBack: (provider, reason, detail) => {
      count(FORWARD_FALLBACK_METRIC, 1, { reason });
      if (reason === "misconfigured") {
        logger.error("before-send forward refused: the app's forward secret is unusable", {
          provider,
          reason,
          fallback: policy,
        });
        count(MISCONFIGURED_METRIC);
        return;
      }
      logger.warn("before-send forward fell back to the policy", {
        provider,
        reason,
        detail,
        fallback: policy,
      });
    },
  };
}

/** What the before-send rules skip: logged and counted, the message goes out as far as the rules got. */
export const RULES_HOOK_OBSERVER = {
  ruleSkipped: (ruleId: string, reason: string) => {
    count("RuleSkipped");
    logger.info("rule skipped", { ruleId, reason, on: "before-send" });
  },
  timedOut: (ran: number) => {
    count("RulesTimedOut");
    logger.warn("before-send rules ran out of their budget", { ran });
  },
};

/** What the after-send rules do and skip: counted, and logged without content. */
export const AUTO_EDITS_OBSERVER: AutoEditsObserver = {
  enqueueFailed: (id, error) => {
    count("RuleEnqueueFailed");
    logger.warn("after-send rules could not be queued", { id, error: `${error.name}: ${error.message}` });
  },
  skipped: (id, ruleId, reason) => {
    count("RuleSkipped");
    logger.info("rule skipped", {
      id,
      ...(ruleId !== undefined ? { ruleId } : {}),
      reason,
      on: "after-send",
    });
  },
  applied: (id, ruleId, version) => {
    count("RuleApplied");
    logger.info("rule applied", { id, ruleId, version });
  },
};

export const reportLost = (error: Error, events: readonly DomainEvent[]): void => {
  count("PublishFailed", events.length);
  logger.warn("events not published (at most once: they are not retried)", {
    error: `${error.name}: ${error.message}`,
    events: events.map((event) => event.eventId),
  });
};

/** What the callback pipeline skips or loses: logged and counted, never a failed callback. */
export const CALLBACK_OBSERVER: CallbackObserver = {
  hookSkipped: (hook, reason, error) => {
    count("DecideHookSkipped");
    logger.warn("before-send hook skipped", { hook, reason, error: `${error.name}: ${error.message}` });
  },
  replyFailed: (decision, error) => {
    count("DecideReplyFailed");
    logger.warn("decision cannot be answered: allowed as sent", { decision, error: error.message });
  },
  publishFailed: reportLost,
  forwardLost: (provider, error) => {
    count(FORWARD_LOST_METRIC);
    logger.error("forward lost: the app's handler will not get this callback from im-edit", {
      provider,
      error: `${error.name}: ${error.message}`,
    });
  },
  unread: (provider, error) =>
    logger.warn("callback not readable: forwarded to the app as received", {
      provider,
      error: `${error.name}: ${error.message}`,
    }),
};
