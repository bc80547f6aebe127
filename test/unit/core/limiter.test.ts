import { describe, expect, it } from "vitest";
import { TooManyRequestsError } from "../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../functions/core/limiter.ts";
import { manualClock } from "../../helpers/clock.ts";

describe("SlidingWindowLimiter", () => {
  it("never lets more than R calls count inside any rolling window, counting to answer + W", async () => {
    // Prepare
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 3, windowMs: 1000 }), clock);
    const spans: { sent: number; answered: number }[] = [];
    // Act: 12 calls, each in flight for 150 ms.
    for (let i = 0; i < 12; i++) {
      const slot = await limiter.acquire("api", 10_000);
      const sent = clock.now();
      clock.advance(150);
      slot.release();
      spans.push({ sent, answered: clock.now() });
    }
    // Assess: wherever in [sent, answered] the provider counts a call, no window of W holds more than R,
    // i.e. call i is sent at least W after call i-R was answered.
    for (let i = 3; i < spans.length; i++) {
      expect((spans[i]?.sent ?? 0) - (spans[i - 3]?.answered ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it("keeps a slot while its call is in flight", async () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: 100 }), clock);
    await limiter.acquire("api", 0); // never released: the answer never came
    await expect(limiter.acquire("api", 5_000)).rejects.toThrow(TooManyRequestsError);
  });

  it("refuses with Retry-After once the wait would exceed the budget", async () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 2, windowMs: 3000 }), clock);
    (await limiter.acquire("api", 0)).release();
    (await limiter.acquire("api", 0)).release();
    const refused = await limiter.acquire("api", 1000).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect((refused as TooManyRequestsError).retryAfter).toBe(3);
    // A budget that covers the wait (and the few ms the grant leaves the caller to start its call).
    await expect(limiter.acquire("api", 3050)).resolves.toBeDefined();
  });

  it("keeps keys independent", async () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: 1000 }), clock);
    await limiter.acquire("a", 0);
    await expect(limiter.acquire("b", 0)).resolves.toBeDefined();
  });

  it("serves waiters in arrival order", async () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: 100 }), clock);
    const order: number[] = [];
    (await limiter.acquire("api", 0)).release();
    await Promise.all(
      [1, 2, 3].map(async (n) => {
        const slot = await limiter.acquire("api", 10_000);
        order.push(n);
        slot.release();
      }),
    );
    expect(order).toEqual([1, 2, 3]);
  });
});
