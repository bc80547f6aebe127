import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../../functions/adapters/dynamodb/client.ts";
import { DynamoRateLimiter } from "../../../../functions/adapters/dynamodb/limiter.ts";
import { CancelledError, TooManyRequestsError } from "../../../../functions/core/errors.ts";
import { type Clock, inBackground } from "../../../../functions/core/limiter.ts";
import { ensureTable, STORE_TARGETS } from "../../../helpers/dynamo.ts";

/**
 * Virtual time shared by several limiters (processes) on one real store: it moves to the next sleeper
 * only when no store call is in flight, so leases never expire while a call to the emulator runs.
 */
function virtualTime(start = Date.parse("2026-06-01T00:00:00Z")) {
  let now = start;
  let sleepers: { at: number; wake: () => void }[] = [];
  let busy = 0;
  let calls = 0;
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => sleepers.push({ at: now + ms, wake })),
  };
  const settle = async () => {
    for (;;) {
      for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
      if (busy === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  return {
    clock,
    get calls() {
      return calls;
    },
    /** Counts the client's calls and holds time still while one is in flight; `dead()` makes them fail. */
    track(client: DynamoDBDocumentClient, dead: () => boolean = () => false): DynamoDBDocumentClient {
      client.middlewareStack.add(
        (next) => async (args) => {
          busy++;
          calls++;
          try {
            if (dead()) throw Object.assign(new Error("process gone"), { name: "NetworkingError" });
            return await next(args);
          } finally {
            busy--;
          }
        },
        { step: "initialize", name: "virtualTime" },
      );
      return client;
    },
    /** Runs until `done()`, moving time from sleeper to sleeper, at most `maxMs` of virtual time. */
    async run(done: () => boolean, maxMs: number): Promise<void> {
      const end = now + maxMs;
      for (;;) {
        await settle();
        if (done()) return;
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next || next.at > end) throw new Error(`stalled at +${now - start} ms`);
        now = Math.max(now, next.at);
        const due = sleepers.filter((sleeper) => sleeper.at <= now);
        sleepers = sleepers.filter((sleeper) => sleeper.at > now);
        for (const sleeper of due) sleeper.wake();
      }
    },
  };
}

interface Span {
  readonly sent: number;
  answered: number;
  readonly background: boolean;
  readonly startedAt: number;
  readonly budget: number;
}

/** The most holds (send until answer + W) at any moment: what the provider may count in one window. */
function maxHeld(
  spans: readonly Span[],
  windowMs: number,
  which: (span: Span) => boolean = () => true,
): number {
  const events: [number, number][] = [];
  for (const span of spans.filter(which)) events.push([span.sent, 1], [span.answered + windowMs, -1]);
  // A slot freed at t may be taken at t: ends before starts.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let held = 0;
  let max = 0;
  for (const [, delta] of events) {
    held += delta;
    max = Math.max(max, held);
  }
  return max;
}

/** The most holds of `which` live at any moment in [from, to], holds sent before `from` included. */
function heldBetween(
  spans: readonly Span[],
  windowMs: number,
  from: number,
  to: number,
  which: (span: Span) => boolean,
): number {
  const selected = spans.filter(which);
  const moments = [from, ...selected.map((span) => span.sent).filter((at) => at >= from && at <= to)];
  let max = 0;
  for (const at of moments) {
    const held = selected.filter((span) => span.sent <= at && at < span.answered + windowMs).length;
    max = Math.max(max, held);
  }
  return max;
}

describe.each(STORE_TARGETS)("DynamoRateLimiter on $name (shared by every process)", (target) => {
  let running: Awaited<ReturnType<typeof target.start>>;
  let tableName: string;
  beforeAll(async () => {
    running = await target.start();
    tableName = `t-${randomUUID()}`;
    await ensureTable(running.endpoint, tableName);
  }, 60_000);
  afterAll(async () => {
    await running.close();
  });

  type Time = ReturnType<typeof virtualTime>;
  /** A limiter as one process (one Lambda instance) has it; several share the table. */
  const process = (
    time: Time,
    rule: { limit: number; windowMs: number },
    options: { reserve?: number; dead?: () => boolean } = {},
  ) =>
    new DynamoRateLimiter(
      time.track(createDocumentClient({ region: "local", endpoint: running.endpoint }), options.dead),
      tableName,
      () => rule,
      { clock: time.clock, interactiveReserve: options.reserve ?? 0 },
    );

  /** A caller: acquire, a call of `serviceMs`, release, until `stopAt`; refusals pause 50 ms. */
  async function caller(
    time: Time,
    limiter: DynamoRateLimiter,
    key: string,
    spans: Span[],
    refusals: TooManyRequestsError[],
    options: { stopAt: number; budget: number; serviceMs: number; background?: boolean },
  ): Promise<void> {
    const { clock } = time;
    const once = async () => {
      const startedAt = clock.now();
      try {
        const slot = await limiter.acquire(key, options.budget);
        const span: Span = {
          sent: clock.now(),
          answered: Number.POSITIVE_INFINITY,
          background: options.background ?? false,
          startedAt,
          budget: options.budget,
        };
        spans.push(span);
        await clock.sleep(options.serviceMs);
        span.answered = clock.now();
        await slot.release();
      } catch (error: unknown) {
        if (!(error instanceof TooManyRequestsError)) throw error;
        refusals.push(error);
        await clock.sleep(50);
      }
    };
    while (clock.now() < options.stopAt) {
      await (options.background ? inBackground(undefined, once) : once());
    }
  }

  it("several processes never hold more than R at once, together reach close to R, and cost little", async () => {
    // Prepare: 3 processes x 5 callers, R = 10 per second, calls of 20 ms, 10 s of virtual time.
    const time = virtualTime();
    const rule = { limit: 10, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    const spans: Span[] = [];
    const refusals: TooManyRequestsError[] = [];
    const start = time.clock.now();
    const stopAt = start + 10_000;
    let running = 0;
    // Act
    for (let p = 0; p < 3; p++) {
      const limiter = process(time, rule);
      for (let c = 0; c < 5; c++) {
        running++;
        void caller(time, limiter, key, spans, refusals, { stopAt, budget: 5_000, serviceMs: 20 }).finally(
          () => running--,
        );
      }
    }
    await time.run(() => running === 0, 30_000);
    // Assess: the rolling-window invariant, no grant after its budget, the rate, the store calls.
    expect(maxHeld(spans, rule.windowMs)).toBeLessThanOrEqual(rule.limit);
    for (const span of spans) expect(span.sent - span.startedAt).toBeLessThanOrEqual(span.budget);
    const steady = spans.filter((span) => span.sent >= start + 2_000 && span.sent < stopAt).length;
    const ceiling = ((rule.limit * 8_000) / rule.windowMs) * (rule.windowMs / (rule.windowMs + 20));
    expect(steady).toBeGreaterThanOrEqual(0.85 * ceiling);
    expect(time.calls / spans.length).toBeLessThan(1.5);
  }, 20_000);

  it("grants nothing after a caller's budget: it is refused with Retry-After instead", async () => {
    const time = virtualTime();
    const rule = { limit: 4, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    const spans: Span[] = [];
    const refusals: TooManyRequestsError[] = [];
    const stopAt = time.clock.now() + 4_000;
    let running = 0;
    for (let p = 0; p < 2; p++) {
      const limiter = process(time, rule);
      for (let c = 0; c < 6; c++) {
        running++;
        void caller(time, limiter, key, spans, refusals, { stopAt, budget: 300, serviceMs: 30 }).finally(
          () => running--,
        );
      }
    }
    await time.run(() => running === 0, 20_000);
    expect(spans.length).toBeGreaterThan(0);
    expect(refusals.length).toBeGreaterThan(0);
    for (const span of spans) expect(span.sent - span.startedAt).toBeLessThanOrEqual(300);
    for (const refusal of refusals) expect(refusal.retryAfter).toBeGreaterThanOrEqual(1);
    expect(maxHeld(spans, rule.windowMs)).toBeLessThanOrEqual(rule.limit);
  }, 20_000);

  it("background work alone takes all R; an interactive caller elsewhere gets the reserve back within its budget, kept for the grace", async () => {
    // Prepare: R = 20, a quarter reserved (5 slots), grace 2 s (the default for W = 1 s); process A's
    // 12 background callers (a bulk job) saturate the key for 9 s.
    const time = virtualTime();
    const rule = { limit: 20, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    const spans: Span[] = [];
    const refusals: TooManyRequestsError[] = [];
    const start = time.clock.now();
    let running = 0;
    const a = process(time, rule, { reserve: 0.25 });
    for (let c = 0; c < 12; c++) {
      running++;
      void caller(time, a, key, spans, refusals, {
        stopAt: start + 9_000,
        budget: 5_000,
        serviceMs: 20,
        background: true,
      }).finally(() => running--);
    }
    // Act: from 2 s to 4 s, process B's 3 interactive callers, each with a 1 s budget.
    const b = process(time, rule, { reserve: 0.25 });
    void time.clock.sleep(2_000).then(() => {
      for (let c = 0; c < 3; c++) {
        running++;
        void caller(time, b, key, spans, refusals, {
          stopAt: start + 4_000,
          budget: 1_000,
          serviceMs: 20,
        }).finally(() => running--);
      }
    });
    await time.run(() => running === 0 && time.clock.now() > start + 2_000, 30_000);
    // Assess: never more than R; alone, the job holds all R (not R - reserve).
    const background = (span: Span) => span.background;
    expect(maxHeld(spans, rule.windowMs)).toBeLessThanOrEqual(20);
    expect(heldBetween(spans, rule.windowMs, start + 1_000, start + 2_000, background)).toBe(20);
    // The first interactive caller waited while A's lease shrank (A reads B's demand in the ledger and
    // publishes when its extra holds end), inside its budget; none was refused, none waited longer.
    const interactive = spans.filter((span) => !span.background).sort((x, y) => x.sent - y.sent);
    // The reserve alone serves 5 per slot cycle (answer + W): 10 in the 2 s at least.
    expect(interactive.length).toBeGreaterThanOrEqual(10);
    expect(refusals).toHaveLength(0);
    for (const span of interactive) expect(span.sent - span.startedAt).toBeLessThanOrEqual(1_000);
    const firstServed = interactive[0]?.sent ?? Number.POSITIVE_INFINITY;
    expect(firstServed - (start + 2_000)).toBeLessThan(1_000);
    // From then until the grace after B's last interactive demand (its last caller served), the job
    // stays within R - reserve...
    const lastServed = Math.max(...interactive.map((span) => span.sent));
    expect(
      heldBetween(spans, rule.windowMs, firstServed, lastServed + 2_000, background),
    ).toBeLessThanOrEqual(15);
    // ...and after it takes all R again.
    expect(heldBetween(spans, rule.windowMs, lastServed + 3_000, start + 9_000, background)).toBe(20);
  }, 20_000);

  it("sporadic interactive edits in another process: the first waits for the job's lease to shrink, the next find the reserve free", async () => {
    const time = virtualTime();
    const rule = { limit: 20, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    const spans: Span[] = [];
    const refusals: TooManyRequestsError[] = [];
    const start = time.clock.now();
    let running = 0;
    const a = process(time, rule, { reserve: 0.25 });
    for (let c = 0; c < 12; c++) {
      running++;
      void caller(time, a, key, spans, refusals, {
        stopAt: start + 6_000,
        budget: 5_000,
        serviceMs: 20,
        background: true,
      }).finally(() => running--);
    }
    // One interactive edit every 900 ms from 2 s on (gaps shorter than the grace), each in its own call.
    const b = process(time, rule, { reserve: 0.25 });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      running++;
      void time.clock
        .sleep(2_000 + 900 * i)
        .then(async () => {
          const asked = time.clock.now();
          const slot = await b.acquire(key, 5_000);
          waits.push(time.clock.now() - asked);
          await time.clock.sleep(20);
          await slot.release();
        })
        .finally(() => running--);
    }
    await time.run(() => running === 0 && time.clock.now() > start + 2_000, 30_000);
    expect(maxHeld(spans, rule.windowMs)).toBeLessThanOrEqual(20);
    expect(waits).toHaveLength(4);
    // The first: until A reads B's demand in the ledger and its published shrink takes effect (well
    // inside the budget); the next ones: no wait, the reserve is free (B's idle process trimmed its
    // lease between them, so each takes it anew: one read and one write).
    expect(waits[0]).toBeLessThan(1_000);
    for (const wait of waits.slice(1)) expect(wait).toBe(0);
  }, 20_000);

  it("a cancelled background caller gets CancelledError and never a slot, before or while waiting", async () => {
    const time = virtualTime();
    const rule = { limit: 1, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    const limiter = process(time, rule);
    let first: { release(): unknown } | undefined;
    void limiter.acquire(key, 0).then((slot) => {
      first = slot;
    });
    await time.run(() => first !== undefined, 1_000);
    const controller = new AbortController();
    let outcome: unknown;
    void inBackground(controller.signal, () => limiter.acquire(key, 5_000)).then(
      () => {
        outcome = "granted";
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    await time.run(() => false, 300).catch(() => {});
    controller.abort();
    await first?.release();
    await time.run(() => outcome !== undefined, 5_000);
    expect(outcome).toBeInstanceOf(CancelledError);
    await expect(inBackground(controller.signal, () => limiter.acquire(key, 5_000))).rejects.toBeInstanceOf(
      CancelledError,
    );
  }, 20_000);

  it("a process that stops writing (crashed, frozen, throttled) frees its capacity within 3 W", async () => {
    const time = virtualTime();
    const rule = { limit: 2, windowMs: 1000 };
    const key = `k-${randomUUID()}`;
    let dead = false;
    const a = process(time, rule, { dead: () => dead });
    const held: unknown[] = [];
    for (let i = 0; i < 2; i++) void a.acquire(key, 0).then((slot) => held.push(slot));
    await time.run(() => held.length === 2, 1_000);
    const crashedAt = time.clock.now();
    dead = true; // its calls never answer, its renewals fail
    const b = process(time, rule);
    let grantedAt: number | undefined;
    void b.acquire(key, 5_000).then(() => {
      grantedAt = time.clock.now();
    });
    await time.run(() => grantedAt !== undefined, 6_000);
    expect((grantedAt ?? 0) - crashedAt).toBeLessThanOrEqual(3 * rule.windowMs + 100);
    expect((grantedAt ?? 0) - crashedAt).toBeGreaterThanOrEqual(rule.windowMs);
  }, 20_000);

  it("one slot per message (R = 1): another process gets it about W after the answer, with 2 store calls", async () => {
    const time = virtualTime();
    const rule = { limit: 1, windowMs: 1100 };
    const key = `netease:app:modifyMsg:${randomUUID()}`;
    const a = process(time, rule);
    let answeredAt: number | undefined;
    void a.acquire(key, 0).then(async (slot) => {
      await time.clock.sleep(40);
      answeredAt = time.clock.now();
      await slot.release();
    });
    await time.run(() => answeredAt !== undefined, 1_000);
    // The owner gives the slot back once idle (one trim write); the lease would last 3 W.
    await time.run(() => false, 800).catch(() => {});
    expect(time.calls).toBe(2);
    const b = process(time, rule);
    let grantedAt: number | undefined;
    void b.acquire(key, 5_000).then(() => {
      grantedAt = time.clock.now();
    });
    await time.run(() => grantedAt !== undefined, 5_000);
    expect((grantedAt ?? 0) - (answeredAt ?? 0)).toBeGreaterThanOrEqual(1_100);
    expect((grantedAt ?? 0) - (answeredAt ?? 0)).toBeLessThanOrEqual(1_100 + 100);
  }, 20_000);

  it("hands out exactly R slots to concurrent processes with no wait allowed, refusing the rest at once", async () => {
    const time = virtualTime();
    const rule = { limit: 3, windowMs: 2000 };
    const key = `k-${randomUUID()}`;
    const results: PromiseSettledResult<unknown>[] = [];
    const all = Promise.allSettled(Array.from({ length: 8 }, () => process(time, rule).acquire(key, 0))).then(
      (settled) => results.push(...settled),
    );
    await time.run(() => results.length === 8, 100);
    await all;
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(3);
    const refused = results.find((result) => result.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(TooManyRequestsError);
  }, 20_000);

  it("keeps keys independent", async () => {
    const time = virtualTime();
    const rule = { limit: 1, windowMs: 1000 };
    let granted = 0;
    void process(time, rule)
      .acquire(`a-${randomUUID()}`, 0)
      .then(() => granted++);
    void process(time, rule)
      .acquire(`b-${randomUUID()}`, 0)
      .then(() => granted++);
    await time.run(() => granted === 2, 100);
    expect(granted).toBe(2);
  }, 20_000);
});
