import { describe, expect, it } from "vitest";
import { slotWaitMs } from "../../../functions/core/admission.ts";
import { TooManyRequestsError } from "../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../functions/core/limiter.ts";
import { manualClock } from "../../helpers/clock.ts";

/** Admission control: refuse at once what cannot get its slot and its answer inside the wait budget. */

const LIMIT = 10;
const WINDOW = 1000;
const SERVICE = 100;
const BUDGET = 5_000;

/** Virtual time that only moves when the test says so (no sleeping through it). */
function steppedClock() {
  const base = manualClock();
  const sleepers: { at: number; wake: () => void }[] = [];
  return {
    now: base.now,
    sleep: (ms: number) =>
      new Promise<void>((wake) => {
        sleepers.push({ at: base.now() + ms, wake });
      }),
    /** Advances 1 ms at a time, waking sleepers due, letting promise chains run in between. */
    async run(untilMs: number, idle: () => boolean) {
      const end = base.now() + untilMs;
      while (base.now() < end && !idle()) {
        base.advance(1);
        for (const sleeper of sleepers.splice(0)) {
          if (sleeper.at <= base.now()) sleeper.wake();
          else sleepers.push(sleeper);
        }
        for (let i = 0; i < 5; i++) await Promise.resolve();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

interface Outcome {
  readonly admitted: boolean;
  readonly at: number;
  readonly retryAfter?: number;
  readonly finishedAt?: number;
}

/** N callers at once: each acquires (budget BUDGET), "calls the provider" for SERVICE ms, releases. */
async function burst(
  limiter: SlidingWindowLimiter,
  clock: ReturnType<typeof steppedClock>,
  n: number,
  useAdmit: boolean,
): Promise<Outcome[]> {
  const start = clock.now();
  let pending = n;
  const outcomes = Array.from({ length: n }, async (): Promise<Outcome> => {
    try {
      const admission = useAdmit ? limiter.admit(["api"], BUDGET) : undefined;
      // Work before the slot (lease, intent) takes a little while.
      if (useAdmit) await clock.sleep(20);
      const slot = await limiter
        .acquire("api", BUDGET - (clock.now() - start))
        .finally(() => admission?.done());
      await clock.sleep(SERVICE);
      await slot.release();
      return { admitted: true, at: start, finishedAt: clock.now() };
    } catch (error: unknown) {
      if (!(error instanceof TooManyRequestsError)) throw error;
      return { admitted: false, at: clock.now(), retryAfter: error.retryAfter ?? 0 };
    } finally {
      pending--;
    }
  });
  await clock.run(30_000, () => pending === 0);
  return Promise.all(outcomes);
}

/** One call measures the service time; then its slot frees. */
async function warmUp(limiter: SlidingWindowLimiter, clock: ReturnType<typeof steppedClock>) {
  const first = await limiter.acquire("api", 0);
  await clock.run(SERVICE, () => false);
  await first.release();
  expect(limiter.serviceMs("api")).toBe(SERVICE);
  await clock.run(WINDOW + 1, () => false);
}

/** What the limiter can serve inside the budget: a slot cycle is service + window. */
const capacity = Math.floor(((BUDGET - SERVICE) / (SERVICE + WINDOW)) * LIMIT) + LIMIT;

describe("admission control", () => {
  it("refuses a burst over the budget up front; those it admits finish inside the budget", async () => {
    const clock = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: LIMIT, windowMs: WINDOW }), clock);
    await warmUp(limiter, clock);
    const outcomes = await burst(limiter, clock, 200, false);
    const admitted = outcomes.filter((o) => o.admitted);
    const refused = outcomes.filter((o) => !o.admitted);

    // Refused at once, not after waiting out the budget.
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.at - (admitted[0]?.at ?? 0)).toBeLessThanOrEqual(1);
    // Everything admitted got its slot and answer inside the budget.
    for (const a of admitted) expect((a.finishedAt ?? 0) - a.at).toBeLessThanOrEqual(BUDGET);
    // And admission is not timid: about what the rate can serve in the budget is admitted.
    expect(admitted.length).toBeGreaterThanOrEqual(capacity - LIMIT);
    expect(admitted.length).toBeLessThanOrEqual(capacity);
    // Retry-After: when the refused caller's slot would have come, growing with its place in the queue.
    const retries = refused.map((r) => r.retryAfter ?? 0);
    expect(Math.min(...retries)).toBeGreaterThanOrEqual(Math.floor(BUDGET / 1000));
    expect(Math.max(...retries)).toBeLessThanOrEqual(
      Math.ceil((200 / LIMIT) * ((SERVICE + WINDOW) / 1000)) + 1,
    );
    expect(retries).toEqual([...retries].sort((a, b) => a - b));
  });

  it("admit holds places before the work that precedes acquire, so a burst is refused before that work", async () => {
    const clock = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: LIMIT, windowMs: WINDOW }), clock);
    await warmUp(limiter, clock);
    const outcomes = await burst(limiter, clock, 200, true);
    const admitted = outcomes.filter((o) => o.admitted);
    const refused = outcomes.filter((o) => !o.admitted);
    // Refused by admit itself, at the start (the pre-slot work never ran for them).
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.at).toBe(outcomes[0]?.at ?? 0);
    for (const a of admitted) expect((a.finishedAt ?? 0) - a.at).toBeLessThanOrEqual(BUDGET);
    expect(admitted.length).toBeGreaterThanOrEqual(capacity - LIMIT);
  });

  it("a place that is given back (the caller failed before acquiring) is no longer counted", () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: WINDOW }), clock);
    const places = Array.from({ length: 6 }, () => limiter.admit(["api"], BUDGET));
    expect(() => limiter.admit(["api"], BUDGET)).toThrow(TooManyRequestsError);
    for (const place of places) place.done();
    expect(() => limiter.admit(["api"], BUDGET)).not.toThrow();
  });

  it("places held by admit expire with their budget", () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: WINDOW }), clock);
    for (let i = 0; i < 6; i++) limiter.admit(["api"], BUDGET);
    expect(() => limiter.admit(["api"], BUDGET)).toThrow(TooManyRequestsError);
    clock.advance(BUDGET);
    expect(() => limiter.admit(["api"], BUDGET)).not.toThrow();
  });

  it("refuses when any of several keys cannot serve in time, holding no place in the others", () => {
    const clock = manualClock();
    const limiter = new SlidingWindowLimiter(
      (key) => (key === "message" ? { limit: 1, windowMs: 1100 } : { limit: 100, windowMs: WINDOW }),
      clock,
    );
    limiter.admit(["app", "message"], 1000);
    expect(() => limiter.admit(["app", "message"], 1000)).toThrow(TooManyRequestsError);
    expect(limiter.estimateWaitMs("app")).toBe(0);
  });

  it("when the process drains the queue slower than the rate, the measured pace decides", async () => {
    const clock = steppedClock();
    // Rate 100/s, but the work around each call lets only one through every 50 ms (20/s).
    const limiter = new SlidingWindowLimiter(() => ({ limit: 100, windowMs: WINDOW }), clock);
    // 100 callers hold places (each acquire below uses one); grants come every 50 ms for two seconds.
    const places = Array.from({ length: 100 }, () => limiter.admit(["api"], 60_000));
    for (let i = 0; i < 40; i++) {
      (await limiter.acquire("api", BUDGET)).release();
      await clock.run(50, () => false);
    }
    for (const place of places) place.done();
    // Held places: 0 now, but the estimate for a queue of 200 follows the 50 ms pace, not the 10 ms rate.
    expect(limiter.estimateWaitMs("api", 200)).toBeGreaterThan(200 * 40);
  });
});

describe("slotWaitMs", () => {
  const rule = { limit: 2, windowMs: 1000 };
  it("is 0 with a free slot, the earliest free time otherwise, one cycle more per round of the queue", () => {
    expect(slotWaitMs(0, rule, [], 0, 100)).toBe(0);
    expect(slotWaitMs(0, rule, [], 1, 100)).toBe(0);
    expect(slotWaitMs(0, rule, [], 2, 100)).toBe(1100);
    const taken = [
      { takenAt: -500, freeAt: 300 },
      { takenAt: -50, freeAt: Number.POSITIVE_INFINITY },
    ];
    expect(slotWaitMs(0, rule, taken, 0, 100)).toBe(300);
    // In flight since -50 with 100 ms service: answer at 50, free at 1050.
    expect(slotWaitMs(0, rule, taken, 1, 100)).toBe(1050);
    expect(slotWaitMs(0, rule, taken, 2, 100)).toBe(300 + 1100);
  });
});
