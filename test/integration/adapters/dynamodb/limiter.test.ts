import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../../functions/adapters/dynamodb/client.ts";
import { DynamoRateLimiter } from "../../../../functions/adapters/dynamodb/limiter.ts";
import { TooManyRequestsError } from "../../../../functions/core/errors.ts";
import { manualClock } from "../../../helpers/clock.ts";
import { ensureTable, STORE_TARGETS } from "../../../helpers/dynamo.ts";

describe.each(STORE_TARGETS)("DynamoRateLimiter on $name (shared by every process)", (target) => {
  let running: Awaited<ReturnType<typeof target.start>>;
  let tableName: string;
  beforeAll(async () => {
    running = await target.start();
    tableName = `t-${randomUUID()}`;
    await ensureTable(running.endpoint, tableName);
  });
  afterAll(async () => {
    await running.close();
  });

  /** A limiter as one process (one Lambda instance) would have it; several share the table. */
  const limiter = (clock: ReturnType<typeof manualClock>, limit: number, windowMs = 1000) =>
    new DynamoRateLimiter(
      createDocumentClient({ region: "local", endpoint: running.endpoint }),
      tableName,
      () => ({ limit, windowMs }),
      clock,
    );

  it("never lets more than R calls be sent within W of an earlier call's answer, across processes", async () => {
    // Prepare: two processes, one clock.
    const clock = manualClock();
    const key = `k-${randomUUID()}`;
    const [a, b] = [limiter(clock, 3), limiter(clock, 3)];
    const spans: { sent: number; answered: number }[] = [];
    // Act: 9 calls alternating between the processes, each in flight for 150 ms.
    for (let i = 0; i < 9; i++) {
      const slot = await (i % 2 === 0 ? a : b).acquire(key, 10_000);
      const sent = clock.now();
      clock.advance(150);
      await slot.release();
      spans.push({ sent, answered: clock.now() });
    }
    // Assess
    for (let i = 3; i < spans.length; i++) {
      expect((spans[i]?.sent ?? 0) - (spans[i - 3]?.answered ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it("hands out exactly R slots to concurrent callers, refusing the rest with Retry-After", async () => {
    const clock = manualClock();
    const key = `k-${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => limiter(clock, 3, 2000).acquire(key, 0)),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const refused = results.find((r) => r.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(TooManyRequestsError);
  });

  it("keeps a slot while its call is in flight, and frees it after the hold if the caller vanished", async () => {
    const clock = manualClock();
    const key = `k-${randomUUID()}`;
    await limiter(clock, 1).acquire(key, 0); // never released
    await expect(limiter(clock, 1).acquire(key, 5_000)).rejects.toThrow(TooManyRequestsError);
    clock.advance(60_001);
    await expect(limiter(clock, 1).acquire(key, 0)).resolves.toBeDefined();
  });

  it("keeps keys independent", async () => {
    const clock = manualClock();
    await limiter(clock, 1).acquire(`a-${randomUUID()}`, 0);
    await expect(limiter(clock, 1).acquire(`b-${randomUUID()}`, 0)).resolves.toBeDefined();
  });

  it("ignores slots of a once higher limit and refuses at once when waiting is not allowed", async () => {
    const clock = manualClock();
    const key = `k-${randomUUID()}`;
    for (let i = 0; i < 3; i++) await (await limiter(clock, 3).acquire(key, 0)).release();
    clock.advance(5_000); // the three old slots are long free, but above the new limit of 1
    await limiter(clock, 1).acquire(key, 0); // held
    const started = clock.now();
    await expect(limiter(clock, 1).acquire(key, 0)).rejects.toThrow(TooManyRequestsError);
    expect(clock.now() - started).toBe(0);
  });
});
