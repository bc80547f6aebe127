import { TooManyRequestsError } from "./errors.ts";

/**
 * The rate contract (ARCHITECTURE.md "Rate contract"): at most `limit` calls in any rolling `windowMs`
 * as the provider sees them. The provider counts a call somewhere between our send and its answer, so a
 * call holds its slot from the moment it is sent until its answer (or failure) plus the window: counting
 * at send time alone would overrun.
 */
export interface RateSlot {
  /** Call when the answer (or failure) arrived; the slot stays taken for one more window. */
  release(): Promise<void> | void;
}

export interface RateLimiter {
  /** Waits for a slot up to `maxWaitMs`, then throws TooManyRequestsError with Retry-After. */
  acquire(key: string, maxWaitMs: number): Promise<RateSlot>;
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
 * In-process limiter: exact for one process (the local stack, one Lambda instance). Shared across
 * processes it needs the same algorithm on a shared store (DynamoDB), behind the same interface.
 */
export class SlidingWindowLimiter implements RateLimiter {
  /** Per key, the time each taken slot frees up (Infinity while its call is in flight). */
  private readonly slots = new Map<string, { freeAt: number }[]>();
  /** FIFO of waiters per key, so a steady stream of callers cannot starve an early one. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly rule: (key: string) => RateRule,
    private readonly clock: Clock = systemClock,
  ) {}

  async acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    const deadline = this.clock.now() + maxWaitMs;
    // Per-message keys come and go: forget keys whose slots have all expired, so memory stays bounded.
    if (this.slots.size > MAX_IDLE_KEYS) this.prune();
    const previous = this.queues.get(key) ?? Promise.resolve();
    let done: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const chain = previous.then(() => mine);
    this.queues.set(key, chain);
    try {
      await previous;
      return await this.take(key, deadline);
    } finally {
      done();
      if (this.queues.get(key) === chain) this.queues.delete(key);
    }
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [key, slots] of this.slots) {
      if (!this.queues.has(key) && slots.every((slot) => slot.freeAt <= now)) this.slots.delete(key);
    }
  }

  private async take(key: string, deadline: number): Promise<RateSlot> {
    const { limit, windowMs } = this.rule(key);
    for (;;) {
      const now = this.clock.now();
      const live = (this.slots.get(key) ?? []).filter((slot) => slot.freeAt > now);
      this.slots.set(key, live);
      if (live.length < limit) {
        const slot = { freeAt: Number.POSITIVE_INFINITY };
        live.push(slot);
        return {
          release: () => {
            if (Number.isFinite(slot.freeAt)) return;
            slot.freeAt = this.clock.now() + windowMs;
          },
        };
      }
      const earliest = Math.min(...live.map((slot) => slot.freeAt));
      // Slots in flight free up only when their answer arrives; poll at a fraction of the window.
      const wakeAt = Number.isFinite(earliest) ? earliest : now + Math.max(1, Math.floor(windowMs / 20));
      if (wakeAt > deadline) {
        const retryAfter = Math.max(
          1,
          Math.ceil(((Number.isFinite(earliest) ? earliest : now + windowMs) - now) / 1000),
        );
        throw new TooManyRequestsError(
          `more than ${limit} calls in ${windowMs} ms to ${key}; try again later`,
          {
            retryAfter,
          },
        );
      }
      await this.clock.sleep(Math.max(1, wakeAt - now));
    }
  }
}
