import { describe, expect, it } from "vitest";
import { CancelledError, TooManyRequestsError } from "../../../functions/core/errors.ts";
import {
  type Clock,
  inBackground,
  type RateSlot,
  reservedSlots,
  SlidingWindowLimiter,
} from "../../../functions/core/limiter.ts";

/** Virtual time whose sleepers wake only when the test moves it; counts every sleep (polling shows). */
function steppedClock(start = Date.parse("2026-06-01T00:00:00Z")) {
  let now = start;
  let sleepers: { at: number; wake: () => void }[] = [];
  let sleeps = 0;
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => {
      sleeps++;
      return new Promise<void>((wake) => sleepers.push({ at: now + ms, wake }));
    },
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    clock,
    get sleeps() {
      return sleeps;
    },
    /** Moves time to `ms` from now, waking each sleeper at its own time. */
    async advance(ms: number): Promise<void> {
      const end = now + ms;
      for (;;) {
        await settle();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next || next.at > end) break;
        now = next.at;
        const due = sleepers.filter((sleeper) => sleeper.at <= now);
        sleepers = sleepers.filter((sleeper) => sleeper.at > now);
        for (const sleeper of due) sleeper.wake();
      }
      now = end;
      await settle();
    },
  };
}

type Outcome = { slot: RateSlot; at: number } | { error: unknown; at: number };

/** Starts an acquire and records when and how it ends. */
function start(
  time: ReturnType<typeof steppedClock>,
  acquire: () => Promise<RateSlot>,
): { readonly outcome: Outcome | undefined } {
  const box: { outcome: Outcome | undefined } = { outcome: undefined };
  acquire().then(
    (slot) => {
      box.outcome = { slot, at: time.clock.now() };
    },
    (error: unknown) => {
      box.outcome = { error, at: time.clock.now() };
    },
  );
  return box;
}

const granted = (box: { readonly outcome: Outcome | undefined }) =>
  box.outcome !== undefined && "slot" in box.outcome;

describe("SlidingWindowLimiter: interactive reserve, priority, cancel, budget", () => {
  const W = 1000;

  it("reserves floor(R × share) slots: 9 of 180 by default, none of a single slot", () => {
    expect(reservedSlots(180, 0.05)).toBe(9);
    expect(reservedSlots(1, 0.05)).toBe(0);
    expect(reservedSlots(10, 0.5)).toBe(5);
  });

  it("background work alone takes the full R: the reserve holds only while interactive demand is recent", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 10, windowMs: W }), time.clock, {
      interactiveReserve: 0.2,
    });
    const background = Array.from({ length: 12 }, () =>
      start(time, () => inBackground(undefined, () => limiter.acquire("api", 60_000))),
    );
    await time.advance(0);
    expect(background.filter(granted)).toHaveLength(10);
  });

  it("an interactive caller during saturation is first in line; the grace keeps the reserve; then background takes all R again", async () => {
    // Prepare: R = 10, a fifth reserved (2 slots), grace 2 s; a job holds all 10 and 10 more wait.
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 10, windowMs: W }), time.clock, {
      interactiveReserve: 0.2,
    });
    const job = Array.from({ length: 20 }, () =>
      start(time, () => inBackground(undefined, () => limiter.acquire("api", 60_000))),
    );
    await time.advance(0);
    expect(job.filter(granted)).toHaveLength(10);
    const slots = () =>
      job.flatMap((box) => (box.outcome && "slot" in box.outcome ? [box.outcome.slot] : []));
    // Act: an interactive caller arrives (behind 10 background waiters that came first)...
    const first = start(time, () => limiter.acquire("api", 5_000));
    await time.advance(100);
    expect(granted(first)).toBe(false);
    // ...the job's calls are answered 100 ms apart: the first slot frees W after its answer.
    for (const slot of slots()) {
      slot.release();
      await time.advance(100);
    }
    // Assess: it got the first slot that freed (1,100 ms after its arrival), ahead of the job.
    const t0 = Date.parse("2026-06-01T00:00:00Z");
    expect(first.outcome?.at).toBe(t0 + 100 + W);
    // While the grace runs (2 s from the interactive arrival at t0), the job holds at most
    // R - reserve = 8: of the 9 slots freed by t0 + 1,950 one went to the interactive caller, 7 to the
    // job (beside its 1 hold not yet freed), 1 stays free and the next interactive caller gets it at once.
    await time.advance(t0 + 1_950 - time.clock.now());
    expect(job.filter(granted)).toHaveLength(10 + 7);
    const next = start(time, () => limiter.acquire("api", 5_000));
    await time.advance(0);
    expect(next.outcome && "slot" in next.outcome && next.outcome.at).toBe(time.clock.now());
    // Everything is answered; the reserve holds until 2 s after that last interactive caller...
    for (const box of [...job, first, next])
      if (box.outcome && "slot" in box.outcome) box.outcome.slot.release();
    const more = Array.from({ length: 12 }, () =>
      start(time, () => inBackground(undefined, () => limiter.acquire("api", 60_000))),
    );
    const grantedLater = () => job.filter(granted).length + more.filter(granted).length - 17;
    await time.advance(t0 + 1_950 + 2_000 - 1 - time.clock.now());
    expect(grantedLater()).toBe(8);
    // ...and then background work takes all R again, at once.
    await time.advance(1);
    expect(grantedLater()).toBe(10);
  });

  it("the grace is an option; an admitted interactive caller counts as demand", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 10, windowMs: W }), time.clock, {
      interactiveReserve: 0.2,
      interactiveGraceMs: 500,
    });
    const place = limiter.admit(["api"], 1_000);
    const job = Array.from({ length: 10 }, () =>
      start(time, () => inBackground(undefined, () => limiter.acquire("api", 60_000))),
    );
    await time.advance(0);
    // Admitted 0 ms ago: the reserve holds, the job gets 8 slots.
    expect(job.filter(granted)).toHaveLength(8);
    place.done();
    // 500 ms on, with no interactive caller since, the waiting job gets the last 2 at once.
    await time.advance(499);
    expect(job.filter(granted)).toHaveLength(8);
    await time.advance(1);
    expect(job.filter(granted)).toHaveLength(10);
    // A background caller that cannot expect a slot inside its budget is refused at once.
    await expect(inBackground(undefined, () => limiter.acquire("api", 100))).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
  });

  it("background callers queue behind interactive ones that arrive later", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: W }), time.clock, {
      interactiveReserve: 0,
    });
    const first = await limiter.acquire("api", 0);
    const order: string[] = [];
    const wait = (name: string, background: boolean) => {
      const run = () =>
        limiter.acquire("api", 10_000).then((slot) => {
          order.push(name);
          slot.release();
        });
      return background ? inBackground(undefined, run) : run();
    };
    const all = Promise.all([wait("bg1", true), wait("bg2", true), wait("api1", false), wait("api2", false)]);
    await time.advance(10);
    first.release();
    await time.advance(10 * W);
    await all;
    expect(order).toEqual(["api1", "api2", "bg1", "bg2"]);
  });

  it("a background caller cancelled while waiting gets CancelledError at once and never a slot", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: W }), time.clock);
    const held = await limiter.acquire("api", 0);
    const controller = new AbortController();
    const waiting = start(time, () => inBackground(controller.signal, () => limiter.acquire("api", 10_000)));
    const behind = start(time, () => limiter.acquire("api", 10_000));
    await time.advance(100);
    controller.abort();
    await time.advance(0);
    expect(waiting.outcome && "error" in waiting.outcome && waiting.outcome.error).toBeInstanceOf(
      CancelledError,
    );
    expect(waiting.outcome?.at).toBe(time.clock.now());
    // The slot it would have had goes to the next caller.
    held.release();
    await time.advance(W);
    expect(granted(behind)).toBe(true);
  });

  it("a background caller whose signal was aborted before it asked gets CancelledError, even with slots free", async () => {
    const limiter = new SlidingWindowLimiter(() => ({ limit: 10, windowMs: W }));
    const controller = new AbortController();
    controller.abort();
    await expect(inBackground(controller.signal, () => limiter.acquire("api", 1_000))).rejects.toBeInstanceOf(
      CancelledError,
    );
    // Nothing was taken.
    expect(limiter.estimateWaitMs("api", 9)).toBe(0);
  });

  it("an abort between the grant decision and the hand-out is honoured (checked right before)", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: W }), time.clock);
    const held = await limiter.acquire("api", 0);
    const controller = new AbortController();
    const waiting = start(time, () => inBackground(controller.signal, () => limiter.acquire("api", 10_000)));
    held.release();
    // Aborted in the same instant the slot frees.
    await time.advance(W - 1);
    controller.abort();
    await time.advance(1);
    expect(waiting.outcome && "error" in waiting.outcome && waiting.outcome.error).toBeInstanceOf(
      CancelledError,
    );
  });

  it("interactive callers keep their wait budget while background work saturates the key", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 20, windowMs: W }), time.clock);
    let stop = false;
    const backgroundWorker = async () => {
      while (!stop) {
        try {
          const slot = await inBackground(undefined, () => limiter.acquire("api", 5_000));
          await time.clock.sleep(50);
          slot.release();
        } catch (error: unknown) {
          if (!(error instanceof TooManyRequestsError)) throw error;
          await time.clock.sleep(100);
        }
      }
    };
    const workers = Array.from({ length: 40 }, backgroundWorker);
    await time.advance(3 * W);
    // Every second an interactive edit with a 1 s budget.
    const edits = [];
    for (let i = 0; i < 5; i++) {
      edits.push(start(time, () => limiter.acquire("api", 1_000)));
      await time.advance(W);
    }
    stop = true;
    await time.advance(10 * W);
    await Promise.all(workers);
    for (const edit of edits) expect(granted(edit)).toBe(true);
  });

  it("grants nothing after the budget: a waiter whose slot does not come in time is refused at its deadline", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: W }), time.clock);
    const held = await limiter.acquire("api", 0);
    // In flight: the estimate cannot know the answer time, so the caller waits...
    const waiting = start(time, () => limiter.acquire("api", 1_500));
    await time.advance(700);
    held.release(); // ...the slot frees at 1,700 ms, after the 1,500 ms budget.
    await time.advance(2_000);
    expect(waiting.outcome && "error" in waiting.outcome && waiting.outcome.error).toBeInstanceOf(
      TooManyRequestsError,
    );
    // Refused at its deadline (a hair before the budget, so the caller starts inside it), not later.
    const waited = (waiting.outcome?.at ?? 0) - (time.clock.now() - 2_700);
    expect(waited).toBeLessThanOrEqual(1_500);
    expect(waited).toBeGreaterThanOrEqual(1_480);
  });

  it("waiters sleep until the next slot can free, not every W/20", async () => {
    const time = steppedClock();
    const limiter = new SlidingWindowLimiter(() => ({ limit: 1, windowMs: W }), time.clock);
    const held = await limiter.acquire("api", 0);
    const waiters = Array.from({ length: 5 }, () => start(time, () => limiter.acquire("api", 60_000)));
    await time.advance(0);
    const before = time.sleeps;
    await time.advance(3 * W); // the call stays in flight for 3 W
    held.release();
    await time.advance(W);
    expect(waiters.filter(granted)).toHaveLength(1);
    // One driver: one wake per W while the call was in flight (polling every W/20 would be 60), one
    // at the release, one when the slot frees.
    expect(time.sleeps - before).toBeLessThanOrEqual(5);
  });
});
