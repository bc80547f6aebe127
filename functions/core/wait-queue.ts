// One key's waiters and holds in this process, the part both rate limiters share (in-process and
// DynamoDB): arrival order with interactive waiters first, holds, capacity, and the service-time estimate.
import { CancelledError } from "./errors.ts";
import type { Clock, RateSlot } from "./limiter.ts";

export const EWMA_WEIGHT = 0.2;

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

export interface Waiter {
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

export function fits(live: readonly Hold[], background: boolean, capacity: Capacity): boolean {
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
