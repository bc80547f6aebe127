import { AsyncLocalStorage } from "node:async_hooks";
import { CancelledError, TooManyRequestsError } from "./errors.ts";

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

/**
 * The last moment a waiter with this budget may be handed a slot: a little before its budget ends
 * (1/50 of it, at most 20 ms), so that the caller, resumed on a busy event loop, still starts its call
 * inside the budget.
 */
export const grantDeadline = (now: number, maxWaitMs: number): number =>
  now + maxWaitMs - Math.min(20, maxWaitMs / 50);

export const cancelled = (key: string): CancelledError =>
  new CancelledError(`cancelled while waiting for a slot of ${key}; no call was sent`);

/** A slot as this process holds it: from the send until `windowMs` after the answer (Infinity until then). */
export interface Hold {
  readonly takenAt: number;
  freeAt: number;
  readonly background: boolean;
}

/** How many holds a key may have live in this process at a moment. */
export interface Capacity {
  /** Live holds at most: all callers, and background callers. */
  readonly total: number;
  readonly background: number;
  /**
   * A shrink promised to other processes: holds live after `by` (epoch ms) at most `total`/`background`.
   * A new hold may outlast `by` (its answer time is unknown), so it counts against both limits.
   */
  readonly after?: { readonly by: number; readonly total: number; readonly background: number };
}

interface Waiter {
  readonly background: boolean;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (slot: RateSlot) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One key's waiters and holds in this process, the part both limiters share. Waiters are served in
 * arrival order, interactive ones first (background work queues behind them); each is checked for
 * cancellation and for its deadline immediately before it gets a slot, so no slot (and no provider call)
 * comes after a cancel or after the wait budget. Nobody polls: the owner's driver sleeps until the next
 * hold frees or the next deadline, and an arrival, a release or a cancel wakes it early.
 */
export class WaitQueue {
  holds: Hold[] = [];
  private readonly interactive: Waiter[] = [];
  private readonly background: Waiter[] = [];
  readonly service = new ServiceTime();
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly key: string,
    private readonly clock: Clock,
    /** A call unanswered this long is taken as lost (the DynamoDB lease stops covering it too). */
    private readonly maxHoldMs = Number.POSITIVE_INFINITY,
    private readonly onRelease?: () => void,
  ) {}

  get waiting(): number {
    return this.interactive.length + this.background.length;
  }

  get waitingInteractive(): number {
    return this.interactive.length;
  }

  /** Whether the first waiter in line is background work (interactive ones go first). */
  get headIsBackground(): boolean {
    return this.interactive.length === 0 && this.background.length > 0;
  }

  /** Waiters a new caller of this priority queues behind. */
  ahead(background: boolean): number {
    return background ? this.waiting : this.interactive.length;
  }

  /** The holds live at `now` (ended ones are dropped). */
  live(now: number): Hold[] {
    this.holds = this.holds.filter((hold) => hold.freeAt > now && hold.takenAt + this.maxHoldMs > now);
    return this.holds;
  }

  /**
   * When the next live hold may end: its freeAt; for one in flight, `windowMs` from now (its release
   * wakes the driver; without one it cannot free earlier) or when it counts as lost. Infinity if none.
   */
  nextFree(now: number, windowMs: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const hold of this.live(now)) {
      const end = Number.isFinite(hold.freeAt) ? hold.freeAt : now + windowMs;
      next = Math.min(next, end, hold.takenAt + this.maxHoldMs);
    }
    return next;
  }

  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const waiter of this.interactive) next = Math.min(next, waiter.deadline);
    for (const waiter of this.background) next = Math.min(next, waiter.deadline);
    return next;
  }

  enqueue(background: boolean, deadline: number, signal: AbortSignal | undefined): Promise<RateSlot> {
    return new Promise<RateSlot>((resolve, reject) => {
      const list = background ? this.background : this.interactive;
      const onAbort = () => {
        const index = list.indexOf(waiter);
        if (index < 0) return;
        list.splice(index, 1);
        reject(cancelled(this.key));
        this.wake();
      };
      const waiter: Waiter = {
        background,
        deadline,
        signal,
        resolve: (slot) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(slot);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(waiter);
      this.wake();
    });
  }

  /**
   * Hands out slots in priority order while `capacity` allows, then refuses every waiter whose deadline
   * has come (`refuse(background, position)` makes the error). `onGrant` is told how many still wait.
   */
  serve(
    now: number,
    capacity: Capacity,
    windowMs: number,
    refuse: (background: boolean, position: number) => Error,
    onGrant?: (stillWaiting: number) => void,
    /** False when the owner may still find capacity at this instant (a store sync): it refuses later. */
    refuseAtDeadline = true,
  ): number {
    this.refuseDue((deadline) => deadline < now, refuse);
    const live = this.live(now);
    let granted = 0;
    for (const list of [this.interactive, this.background]) {
      while (list.length > 0) {
        const waiter = list[0] as Waiter;
        if (waiter.signal?.aborted) {
          list.shift();
          waiter.reject(cancelled(this.key));
          continue;
        }
        if (!fits(live, waiter.background, capacity)) break;
        list.shift();
        const hold: Hold = { takenAt: now, freeAt: Number.POSITIVE_INFINITY, background: waiter.background };
        live.push(hold);
        granted++;
        onGrant?.(this.waiting);
        waiter.resolve(this.slot(hold, windowMs));
      }
      // Background work queues behind interactive callers: none is served while one waits.
      if (list.length > 0) break;
    }
    if (refuseAtDeadline) this.refuseDue((deadline) => deadline <= now, refuse);
    return granted;
  }

  /** Refuses the waiters whose deadline has come (after the owner tried everything it could). */
  refuseExpired(now: number, refuse: (background: boolean, position: number) => Error): void {
    this.refuseDue((deadline) => deadline <= now, refuse);
  }

  /** Fails every waiter (the driver itself failed). */
  failAll(error: unknown): void {
    for (const list of [this.interactive, this.background]) {
      for (const waiter of list.splice(0)) waiter.reject(error);
    }
  }

  /** Resolves at `at`, or earlier when something changes (an arrival, a release, a cancel). */
  async pause(now: number, at: number): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
    await (Number.isFinite(at) ? Promise.race([this.clock.sleep(Math.max(1, at - now)), woken]) : woken);
    this.wakeUp = undefined;
  }

  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private refuseDue(
    due: (deadline: number) => boolean,
    refuse: (background: boolean, position: number) => Error,
  ): void {
    let position = 0;
    for (const list of [this.interactive, this.background]) {
      for (let i = 0; i < list.length; ) {
        const waiter = list[i] as Waiter;
        if (due(waiter.deadline)) {
          list.splice(i, 1);
          waiter.reject(waiter.signal?.aborted ? cancelled(this.key) : refuse(waiter.background, position));
        } else i++;
        position++;
      }
    }
  }

  private slot(hold: Hold, windowMs: number): RateSlot {
    return {
      release: () => {
        if (Number.isFinite(hold.freeAt)) return;
        const answered = this.clock.now();
        this.service.add(answered - hold.takenAt);
        hold.freeAt = answered + windowMs;
        this.wake();
        this.onRelease?.();
      },
    };
  }
}

function fits(live: readonly Hold[], background: boolean, capacity: Capacity): boolean {
  let total = 0;
  let backgroundTotal = 0;
  let past = 0;
  let backgroundPast = 0;
  const by = capacity.after?.by ?? Number.POSITIVE_INFINITY;
  for (const hold of live) {
    total++;
    if (hold.background) backgroundTotal++;
    if (hold.freeAt > by) {
      past++;
      if (hold.background) backgroundPast++;
    }
  }
  if (total >= capacity.total || (background && backgroundTotal >= capacity.background)) return false;
  const after = capacity.after;
  if (after && (past >= after.total || (background && backgroundPast >= after.background))) return false;
  return true;
}

/** A place held by `admit`: counted ahead of later callers of its priority until it expires or is used. */
interface Place {
  readonly expiresAt: number;
  readonly background: boolean;
}

interface KeyState {
  readonly queue: WaitQueue;
  /** Places held by admit. */
  readonly reserved: Set<Place>;
  /** Grant times while callers were queued (the last span only), and since when they have been. */
  grants: number[];
  queuedSince: number | undefined;
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
    return Math.max(model, queued * this.paceMs(state, now, rule.windowMs));
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
          (stillWaiting) => this.measurePace(state, now, windowMs, stillWaiting),
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
        grants: [],
        queuedSince: undefined,
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

  private measurePace(state: KeyState, now: number, windowMs: number, stillWaiting: number): void {
    const queued = stillWaiting > 0 || state.reserved.size > 0;
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

function placesAhead(places: ReadonlySet<Place>, background: boolean): number {
  if (background) return places.size;
  let count = 0;
  for (const place of places) if (!place.background) count++;
  return count;
}
