import { AsyncLocalStorage } from "node:async_hooks";
import { TooManyRequestsError } from "./errors.ts";

/**
 * Who is asking for a provider slot, carried through the call stack to the limiter (the one gate every
 * provider call passes): interactive edits (HTTP, invoke, events) or background work (bulk jobs,
 * after-send rules). Background callers never take the share reserved for interactive edits, and a
 * background caller whose `signal` is aborted (its job was cancelled) gets no slot: CancelledError, so
 * no provider call starts after a cancel was answered.
 */
export interface WorkContext {
  readonly priority: "interactive" | "background";
  readonly signal?: AbortSignal;
}

const INTERACTIVE: WorkContext = { priority: "interactive" };
export const workContext = new AsyncLocalStorage<WorkContext>();
export const currentWork = (): WorkContext => workContext.getStore() ?? INTERACTIVE;
/** Runs `work` as background work (lower priority, cancellable through `signal`). */
export const inBackground = <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> =>
  workContext.run({ priority: "background", ...(signal ? { signal } : {}) }, work);

/**
 * The rate contract (ARCHITECTURE.md "Rate contract"): at most `limit` calls in any rolling `windowMs`
 * as the provider sees them. The provider counts a call somewhere between our send and its answer, so a
 * call holds its slot from the moment it is sent until its answer (or failure) plus the window: counting
 * at send time alone would overrun.
 *
 * Admission control: a caller that would not get its slot and its answer inside its wait budget is
 * refused at once (TooManyRequestsError, Retry-After = when its slot would have come), instead of
 * queueing until the budget runs out while the work ahead of it saturates the process. The estimate
 * comes from the queue ahead, the slots taken and the measured service time (send to answer).
 */
export interface RateSlot {
  /** Call when the answer (or failure) arrived; the slot stays taken for one more window. */
  release(): Promise<void> | void;
}

/** A place held by `admit` for a caller that will `acquire` later (after its lease and intent). */
export interface Admission {
  /** The caller is done (its acquire ran, or it will not call): its place, if still held, goes. */
  done(): void;
}

export interface RateLimiter {
  /**
   * Waits for a slot up to `maxWaitMs`, then throws TooManyRequestsError with Retry-After. Refuses at
   * once when the slot and the call's answer are not expected inside `maxWaitMs`.
   */
  acquire(key: string, maxWaitMs: number): Promise<RateSlot>;
  /**
   * Admission before any work for a call that will acquire slots of `keys` later: throws
   * TooManyRequestsError (Retry-After) when they are not expected inside `maxWaitMs`; otherwise holds
   * a place in the keys' queues (counted ahead of later callers) until `done()`, the caller's acquire
   * or `maxWaitMs`, whichever comes first.
   */
  admit?(keys: readonly string[], maxWaitMs: number): Admission;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const MAX_IDLE_KEYS = 10_000;

export interface RateRule {
  readonly limit: number;
  readonly windowMs: number;
}

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

const EWMA_WEIGHT = 0.2;

/** Exponentially weighted mean of service times; undefined until the first sample. */
export class ServiceTime {
  private mean: number | undefined;

  add(ms: number): void {
    this.mean = this.mean === undefined ? ms : this.mean + EWMA_WEIGHT * (ms - this.mean);
  }

  get ms(): number {
    return this.mean ?? 0;
  }
}

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

interface KeyState {
  /** Taken slots; `freeAt` is Infinity while the call is in flight. */
  slots: { takenAt: number; freeAt: number }[];
  /** Callers inside acquire, not yet served. */
  waiting: number;
  /** Places held by admit (expiry times), oldest first. */
  reserved: Set<{ expiresAt: number }>;
  readonly service: ServiceTime;
  /** Grant times while callers were queued (the last span only), and since when they have been. */
  grants: number[];
  queuedSince: number | undefined;
  /** The FIFO of waiters, so a steady stream of callers cannot starve an early one. */
  queue: Promise<void> | undefined;
}

/**
 * In-process limiter: exact for one process (the local stack, one Lambda instance). Shared across
 * processes it needs the same algorithm on a shared store (DynamoDB), behind the same interface.
 */
export class SlidingWindowLimiter implements RateLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly rule: (key: string) => RateRule,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The expected wait of a new caller behind `ahead` others: the slot model, or when the queue drains
   * slower than the model says (the process itself is the bottleneck), the measured pace of grants.
   */
  estimateWaitMs(key: string, ahead?: number): number {
    const state = this.state(key);
    const now = this.clock.now();
    this.expire(state, now);
    const queued = ahead ?? state.waiting + state.reserved.size;
    const rule = this.rule(key);
    const model = slotWaitMs(now, rule, state.slots, queued, state.service.ms);
    return Math.max(model, queued * this.paceMs(state, now, rule.windowMs));
  }

  /** The measured service time (send to answer) of the key's calls, 0 before the first. */
  serviceMs(key: string): number {
    return this.state(key).service.ms;
  }

  admit(keys: readonly string[], maxWaitMs: number): Admission {
    for (const key of keys) {
      const wait = this.estimateWaitMs(key);
      const expected = wait + this.state(key).service.ms;
      if (expected > maxWaitMs) throw refusal(key, this.rule(key), wait, maxWaitMs);
    }
    const expiresAt = this.clock.now() + maxWaitMs;
    const held = keys.map((key) => {
      const place = { expiresAt };
      this.state(key).reserved.add(place);
      return { key, place };
    });
    return {
      done: () => {
        for (const { key, place } of held) this.keys.get(key)?.reserved.delete(place);
      },
    };
  }

  async acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    const now = this.clock.now();
    const deadline = now + maxWaitMs;
    // Per-message keys come and go: forget keys whose slots have all expired, so memory stays bounded.
    if (this.keys.size > MAX_IDLE_KEYS) this.prune();
    const state = this.state(key);
    // This caller's place, if admit held one, becomes its place in the queue.
    const place = state.reserved.values().next().value;
    if (place !== undefined) state.reserved.delete(place);
    const wait = this.estimateWaitMs(key, state.waiting);
    if (wait + state.service.ms > maxWaitMs) throw refusal(key, this.rule(key), wait, maxWaitMs);

    const previous = state.queue ?? Promise.resolve();
    let done: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const chain = previous.then(() => mine);
    state.queue = chain;
    state.waiting++;
    try {
      await previous;
      return await this.take(key, state, deadline);
    } finally {
      state.waiting--;
      done();
      if (state.queue === chain) state.queue = undefined;
    }
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      state = {
        slots: [],
        waiting: 0,
        reserved: new Set(),
        service: new ServiceTime(),
        grants: [],
        queuedSince: undefined,
        queue: undefined,
      };
      this.keys.set(key, state);
    }
    return state;
  }

  private expire(state: KeyState, now: number): void {
    for (const place of state.reserved) if (place.expiresAt <= now) state.reserved.delete(place);
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [key, state] of this.keys) {
      this.expire(state, now);
      const idle = state.queue === undefined && state.reserved.size === 0;
      if (idle && state.slots.every((slot) => slot.freeAt <= now)) this.keys.delete(key);
    }
  }

  private async take(key: string, state: KeyState, deadline: number): Promise<RateSlot> {
    const { limit, windowMs } = this.rule(key);
    for (;;) {
      const now = this.clock.now();
      const live = state.slots.filter((slot) => slot.freeAt > now);
      state.slots = live;
      if (live.length < limit) {
        const slot = { takenAt: now, freeAt: Number.POSITIVE_INFINITY };
        live.push(slot);
        this.measurePace(state, now, windowMs);
        return {
          release: () => {
            if (Number.isFinite(slot.freeAt)) return;
            const answered = this.clock.now();
            state.service.add(answered - slot.takenAt);
            slot.freeAt = answered + windowMs;
          },
        };
      }
      let earliest = Number.POSITIVE_INFINITY;
      for (const slot of live) earliest = Math.min(earliest, slot.freeAt);
      // Slots in flight free up only when their answer arrives; poll at a fraction of the window.
      const wakeAt = Number.isFinite(earliest) ? earliest : now + Math.max(1, Math.floor(windowMs / 20));
      if (wakeAt > deadline) {
        const waitMs = (Number.isFinite(earliest) ? earliest : now + windowMs) - now;
        throw new TooManyRequestsError(
          `more than ${limit} calls in ${windowMs} ms to ${key}; try again later`,
          { retryAfter: retryAfterSeconds(waitMs) },
        );
      }
      await this.clock.sleep(Math.max(1, wakeAt - now));
    }
  }

  /** The span the pace is measured over: one slot cycle (send, answer, window). */
  private spanMs(state: KeyState, windowMs: number): number {
    return windowMs + state.service.ms;
  }

  /**
   * While callers queue (in acquire or admitted), grants per slot cycle are the pace the queue really
   * drains at; when this process, not the rate, is the bottleneck it is slower than the slot model.
   * 0 (no evidence) until callers have queued for a whole cycle.
   */
  private paceMs(state: KeyState, now: number, windowMs: number): number {
    const span = this.spanMs(state, windowMs);
    if (state.queuedSince === undefined || now - state.queuedSince < span) return 0;
    const recent = state.grants.filter((at) => at > now - span).length;
    return span / Math.max(1, recent);
  }

  private measurePace(state: KeyState, now: number, windowMs: number): void {
    const queued = state.waiting > 1 || state.reserved.size > 0;
    if (!queued) {
      state.queuedSince = undefined;
      state.grants = [];
      return;
    }
    state.queuedSince ??= now;
    state.grants.push(now);
    const span = this.spanMs(state, windowMs);
    if (state.grants.length > 64 && (state.grants[0] ?? now) <= now - span) {
      state.grants = state.grants.filter((at) => at > now - span);
    }
  }
}
