// The admission estimate both rate limiters share: when a new caller's slot would come (the slot model,
// and in process the measured drain pace), the last moment it may be granted, and the refusal with
// Retry-After when that is beyond its wait budget.
import { TooManyRequestsError } from "./errors.ts";
import type { RateRule } from "./limiter.ts";

/** A taken slot as the estimate sees it: when it was sent, and when it frees (Infinity while in flight). */
export interface SlotView {
  readonly takenAt: number;
  readonly freeAt: number;
}

/**
 * When the caller with `ahead` callers before it would get a slot, in ms from `now`. Free slots go
 * first; a slot in flight frees at its send + the service time (at the earliest now) + the window; a
 * slot that has been taken again by a caller ahead frees one cycle (service + window) later.
 */
export function slotWaitMs(
  now: number,
  rule: RateRule,
  slots: readonly SlotView[],
  ahead: number,
  serviceMs: number,
): number {
  const { limit, windowMs } = rule;
  if (limit <= 0) return Number.POSITIVE_INFINITY;
  const frees: number[] = [];
  for (const slot of slots) {
    if (slot.freeAt <= now) continue;
    frees.push(
      Number.isFinite(slot.freeAt) ? slot.freeAt : Math.max(now, slot.takenAt + serviceMs) + windowMs,
    );
  }
  // More slot items than the limit (a lowered limit): only the earliest `limit` matter.
  frees.sort((a, b) => a - b);
  const free = Math.max(0, limit - frees.length);
  const position = ahead % limit;
  const first = position < free ? now : (frees[position - free] ?? now);
  return first - now + Math.floor(ahead / limit) * (serviceMs + windowMs);
}

/** Seconds for Retry-After: when the slot would have come, at least 1. */
export const retryAfterSeconds = (waitMs: number): number =>
  Math.max(1, Math.ceil(Number.isFinite(waitMs) ? waitMs / 1000 : 60));

export function refusal(
  key: string,
  rule: RateRule,
  waitMs: number,
  maxWaitMs: number,
): TooManyRequestsError {
  return new TooManyRequestsError(
    `more than ${rule.limit} calls in ${rule.windowMs} ms to ${key}; a slot is expected in ${Math.round(waitMs)} ms, beyond the ${maxWaitMs} ms wait budget; try again later`,
    { retryAfter: retryAfterSeconds(waitMs) },
  );
}

/**
 * The last moment a waiter with this budget may be handed a slot: a little before its budget ends
 * (1/50 of it, at most 20 ms), so that the caller, resumed on a busy event loop, still starts its call
 * inside the budget.
 */
export const grantDeadline = (now: number, maxWaitMs: number): number =>
  now + maxWaitMs - Math.min(20, maxWaitMs / 50);

/**
 * While callers queue (in acquire or admitted), grants per slot cycle are the pace the queue really
 * drains at; when this process, not the rate, is the bottleneck it is slower than the slot model.
 * The span it is measured over is one slot cycle (send, answer, window).
 */
export class DrainPace {
  /** Grant times while callers were queued (the last span only), and since when they have been. */
  private grants: number[] = [];
  private queuedSince: number | undefined;

  /** ms per grant over the last span; 0 (no evidence) until callers have queued for a whole cycle. */
  ms(now: number, span: number): number {
    if (this.queuedSince === undefined || now - this.queuedSince < span) return 0;
    const recent = this.grants.filter((at) => at > now - span).length;
    return span / Math.max(1, recent);
  }

  /** Counts a grant at `now`; once nobody queues (`queued` false) the measure starts over. */
  record(now: number, span: number, queued: boolean): void {
    if (!queued) {
      this.queuedSince = undefined;
      this.grants = [];
      return;
    }
    this.queuedSince ??= now;
    this.grants.push(now);
    if (this.grants.length > 64 && (this.grants[0] ?? now) <= now - span) {
      this.grants = this.grants.filter((at) => at > now - span);
    }
  }
}
