import { AsyncLocalStorage } from "node:async_hooks";
import { DrainPace, grantDeadline, refusal, retryAfterSeconds, slotWaitMs } from "./admission.ts";
import { TooManyRequestsError } from "./errors.ts";
import { cancelled, WaitQueue } from "./wait-queue.ts";

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

/**
 * Slots of `limit` background work leaves free while interactive demand is present or recent: the
 * interactive reserve (INTERACTIVE_RESERVE, a share of the rate, default 5 %), rounded down, so a key of
 * one slot (Yunxin's one edit per message per interval) reserves none and background edits are not
 * locked out of it.
 */
export const reservedSlots = (limit: number, share: number): number =>
  Math.min(limit, Math.max(0, Math.floor(limit * share)));

export const DEFAULT_INTERACTIVE_RESERVE = 0.05;

/**
 * How long the reserve holds after the last interactive demand (an interactive acquire or admit):
 * `option` when given, else max(2 s, 2 W). Long enough to cover the gaps between the edits of someone
 * at work (and, across processes, the time until their process writes its ledger again); short enough
 * that a bulk job alone runs at the full rate instead of R − reserve.
 */
export const interactiveGraceMs = (windowMs: number, option?: number): number =>
  option ?? Math.max(2_000, 2 * windowMs);

/** A place held by `admit`: counted ahead of later callers of its priority until it expires or is used. */
interface Place {
  readonly expiresAt: number;
  readonly background: boolean;
}

interface KeyState {
  readonly queue: WaitQueue;
  /** Places held by admit. */
  readonly reserved: Set<Place>;
  /** The measured pace of grants while callers queue. */
  readonly pace: DrainPace;
  driving: boolean;
  /** When an interactive caller last asked (acquire or admit); -Infinity: never. */
  interactiveAt: number;
}

export interface LimiterOptions {
  /**
   * The share of each key's rate background work leaves free while interactive demand is present or
   * recent (INTERACTIVE_RESERVE; default 0.05).
   */
  readonly interactiveReserve?: number;
  /** How long the reserve holds after the last interactive demand (default max(2 s, 2 W)). */
  readonly interactiveGraceMs?: number;
}

/**
 * In-process limiter: exact for one process (the local stack, one Lambda instance). Across processes
 * DynamoRateLimiter (adapters/dynamodb/limiter.ts) runs the same queue on a share of the rate leased
 * from DynamoDB, behind the same interface.
 *
 * Priority: callers running `inBackground` queue behind every interactive caller and get
 * CancelledError, never a slot, once their signal is aborted. The interactive reserve is dynamic: while
 * interactive demand is present (an interactive caller waits) or recent (one acquired or was admitted
 * within the grace, default max(2 s, 2 W)), background work leaves the last `interactiveReserve`
 * share of the key's slots free (R = 180, 0.05: it holds at most 171, so 9 stay for interactive edits,
 * about 9 per slot cycle of answer + W); otherwise it may take all R, so a bulk job alone runs at the
 * full rate. The first interactive caller after a quiet spell is first in line and gets the next slot
 * that frees (with R = 180 held by a job, ~W/R away on average, at most one slot cycle); while the
 * grace runs, background work stops taking slots until 9 are free again, and the next callers find them.
 */
export class SlidingWindowLimiter implements RateLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly reserve: number;
  private readonly graceMs: number | undefined;

  constructor(
    private readonly rule: (key: string) => RateRule,
    private readonly clock: Clock = systemClock,
    options: LimiterOptions = {},
  ) {
    this.reserve = options.interactiveReserve ?? DEFAULT_INTERACTIVE_RESERVE;
    this.graceMs = options.interactiveGraceMs;
  }

  /**
   * The expected wait of a new caller behind `ahead` others: the slot model, or when the queue drains
   * slower than the model says (the process itself is the bottleneck), the measured pace of grants.
   * Background callers count every waiter ahead and, while the reserve holds, only the slots outside it.
   */
  estimateWaitMs(key: string, ahead?: number, background = currentWork().priority === "background"): number {
    const state = this.state(key);
    const now = this.clock.now();
    this.expire(state, now);
    const queued = ahead ?? state.queue.ahead(background) + placesAhead(state.reserved, background);
    const rule = this.ruleFor(key, state, now, background);
    const model = slotWaitMs(now, rule, state.queue.live(now), queued, state.queue.service.ms);
    return Math.max(model, queued * state.pace.ms(now, this.spanMs(state, rule.windowMs)));
  }

  /** The measured service time (send to answer) of the key's calls, 0 before the first. */
  serviceMs(key: string): number {
    return this.state(key).queue.service.ms;
  }

  admit(keys: readonly string[], maxWaitMs: number): Admission {
    const background = currentWork().priority === "background";
    if (!background) {
      const now = this.clock.now();
      for (const key of keys) this.state(key).interactiveAt = now;
    }
    for (const key of keys) {
      const wait = this.estimateWaitMs(key, undefined, background);
      const expected = wait + this.state(key).queue.service.ms;
      if (expected > maxWaitMs) throw refusal(key, this.rule(key), wait, maxWaitMs);
    }
    const expiresAt = this.clock.now() + maxWaitMs;
    const held = keys.map((key) => {
      const place: Place = { expiresAt, background };
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
    const work = currentWork();
    const background = work.priority === "background";
    if (work.signal?.aborted) throw cancelled(key);
    const now = this.clock.now();
    // Per-message keys come and go: forget keys whose slots have all expired, so memory stays bounded.
    if (this.keys.size > MAX_IDLE_KEYS) this.prune();
    const state = this.state(key);
    if (!background) state.interactiveAt = now;
    // This caller's place, if admit held one, becomes its place in the queue.
    for (const place of state.reserved) {
      if (place.background === background) {
        state.reserved.delete(place);
        break;
      }
    }
    const wait = this.estimateWaitMs(key, state.queue.ahead(background), background);
    // Refused at once when its slot is not expected by its grant deadline (a hair inside the budget).
    if (now + wait + state.queue.service.ms > grantDeadline(now, maxWaitMs)) {
      throw refusal(key, this.rule(key), wait, maxWaitMs);
    }
    const slot = state.queue.enqueue(background, grantDeadline(now, maxWaitMs), work.signal);
    void this.drive(key, state);
    return slot;
  }

  /** Whether background work leaves the reserve free: interactive demand is present or recent. */
  private reserveHolds(state: KeyState, now: number, windowMs: number): boolean {
    return (
      state.queue.waitingInteractive > 0 ||
      now < state.interactiveAt + interactiveGraceMs(windowMs, this.graceMs)
    );
  }

  /** The slots a caller of this priority may use now. */
  private ruleFor(key: string, state: KeyState, now: number, background: boolean): RateRule {
    const rule = this.rule(key);
    if (!background || !this.reserveHolds(state, now, rule.windowMs)) return rule;
    return { ...rule, limit: rule.limit - reservedSlots(rule.limit, this.reserve) };
  }

  /** Grants while slots are free, then sleeps until the next one frees or a deadline (no polling). */
  private async drive(key: string, state: KeyState): Promise<void> {
    if (state.driving) return state.queue.wake();
    state.driving = true;
    try {
      for (;;) {
        const now = this.clock.now();
        const { limit, windowMs } = this.rule(key);
        // Interactive demand lasts while its callers wait: the grace counts from their last moment.
        if (state.queue.waitingInteractive > 0) state.interactiveAt = now;
        const reserved = this.reserveHolds(state, now, windowMs) ? reservedSlots(limit, this.reserve) : 0;
        const capacity = { total: limit, background: limit - reserved };
        state.queue.serve(
          now,
          capacity,
          windowMs,
          (background, position) => {
            const waitMs = slotWaitMs(
              now,
              this.ruleFor(key, state, now, background),
              state.queue.live(now),
              position,
              state.queue.service.ms,
            );
            return new TooManyRequestsError(
              `more than ${limit} calls in ${windowMs} ms to ${key}; try again later`,
              { retryAfter: retryAfterSeconds(waitMs) },
            );
          },
          (stillWaiting) =>
            state.pace.record(now, this.spanMs(state, windowMs), stillWaiting > 0 || state.reserved.size > 0),
        );
        if (state.queue.waiting === 0) return;
        let next = Math.min(state.queue.nextFree(now, windowMs), state.queue.nextDeadline());
        // Background waiters kept out of the reserve get it the moment the grace ends.
        if (reserved > 0 && state.queue.headIsBackground) {
          next = Math.min(next, state.interactiveAt + interactiveGraceMs(windowMs, this.graceMs));
        }
        await state.queue.pause(now, next);
      }
    } catch (error: unknown) {
      state.queue.failAll(error);
    } finally {
      state.driving = false;
    }
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      state = {
        queue: new WaitQueue(key, this.clock),
        reserved: new Set(),
        pace: new DrainPace(),
        driving: false,
        interactiveAt: Number.NEGATIVE_INFINITY,
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
      const idle = !state.driving && state.queue.waiting === 0 && state.reserved.size === 0;
      if (idle && state.queue.live(now).length === 0) this.keys.delete(key);
    }
  }

  /** The span the pace is measured over: one slot cycle (send, answer, window). */
  private spanMs(state: KeyState, windowMs: number): number {
    return windowMs + state.queue.service.ms;
  }
}

function placesAhead(places: ReadonlySet<Place>, background: boolean): number {
  if (background) return places.size;
  let count = 0;
  for (const place of places) if (!place.background) count++;
  return count;
}
