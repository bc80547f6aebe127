import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import type { IdempotencyRecord, Store } from "../../functions/core/store.ts";
import { NOW } from "./fixtures.ts";

const pending = (key: string, requestHash = "h1", expiresAtMs = NOW + 60_000): IdempotencyRecord => ({
  key,
  requestHash,
  state: "pending",
  expiresAtMs,
});

/** A domain result as the edit service stores it (an EditResult-like object). */
const RESULT = { id: "c2c_x", version: 2, outcome: "applied", content: { text: "hi" } };

/** `Idempotency-Key` records: claim, read, complete, release, hold, replace, expiry. */
export function idempotencyCases(store: () => Store): void {
  it("claims a key once while it lives, and again once it expired", async () => {
    const key = randomUUID();
    expect(await store().claimIdempotencyKey(pending(key), NOW)).toBe(true);
    expect(await store().claimIdempotencyKey(pending(key, "h2"), NOW)).toBe(false);
    expect(await store().getIdempotencyRecord(key, NOW)).toEqual(pending(key));
    expect(await store().getIdempotencyRecord(key, NOW + 60_001)).toBeUndefined();
    expect(await store().claimIdempotencyKey(pending(key, "h2", NOW + 200_000), NOW + 60_001)).toBe(true);
    expect(await store().getIdempotencyRecord(key, NOW + 60_001)).toEqual(pending(key, "h2", NOW + 200_000));
  });

  it("gives a contended key to exactly one claimant", async () => {
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store().claimIdempotencyKey(pending(key, `h${i}`), NOW)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("completes only the claimant's key, with the result and the new expiry", async () => {
    const key = randomUUID();
    await store().claimIdempotencyKey(pending(key), NOW);
    await store().completeIdempotencyKey(key, "other", { no: true }, NOW + 999_999);
    expect(await store().getIdempotencyRecord(key, NOW)).toEqual(pending(key));
    await store().completeIdempotencyKey(key, "h1", RESULT, NOW + 86_400_000);
    expect(await store().getIdempotencyRecord(key, NOW + 3_600_000)).toEqual({
      key,
      requestHash: "h1",
      state: "done",
      result: RESULT,
      expiresAtMs: NOW + 86_400_000,
    });
    expect(await store().claimIdempotencyKey(pending(key, "h1"), NOW + 3_600_000)).toBe(false);
  });

  it("releases only the claimant's key; a released key can be claimed again", async () => {
    const key = randomUUID();
    await store().claimIdempotencyKey(pending(key), NOW);
    await store().releaseIdempotencyKey(key, "other");
    expect(await store().getIdempotencyRecord(key, NOW)).toEqual(pending(key));
    await store().releaseIdempotencyKey(key, "h1");
    expect(await store().getIdempotencyRecord(key, NOW)).toBeUndefined();
    expect(await store().claimIdempotencyKey(pending(key, "h2"), NOW)).toBe(true);
    await store().releaseIdempotencyKey(randomUUID(), "h1");
  });

  it("holds a pending key of this request until a later expiry; never a done or foreign one", async () => {
    const key = randomUUID();
    expect(await store().holdIdempotencyKey(key, "h1", NOW + 1)).toBe(false);
    await store().claimIdempotencyKey(pending(key), NOW);
    expect(await store().holdIdempotencyKey(key, "other", NOW + 500_000)).toBe(false);
    expect(await store().holdIdempotencyKey(key, "h1", NOW + 500_000)).toBe(true);
    expect(await store().getIdempotencyRecord(key, NOW + 400_000)).toEqual(pending(key, "h1", NOW + 500_000));
    await store().completeIdempotencyKey(key, "h1", RESULT, NOW + 600_000);
    expect(await store().holdIdempotencyKey(key, "h1", NOW + 900_000)).toBe(false);
    expect((await store().getIdempotencyRecord(key, NOW))?.expiresAtMs).toBe(NOW + 600_000);
  });

  it("replaces a remembered result (purge) and keeps the key used; a pending key is left alone", async () => {
    const key = randomUUID();
    await store().claimIdempotencyKey(pending(key), NOW);
    await store().replaceIdempotencyResult(key, { purged: true });
    expect(await store().getIdempotencyRecord(key, NOW)).toEqual(pending(key));
    await store().completeIdempotencyKey(key, "h1", RESULT, NOW + 600_000);
    const purged = { ...RESULT, content: {} };
    await store().replaceIdempotencyResult(key, purged);
    expect(await store().getIdempotencyRecord(key, NOW)).toEqual({
      key,
      requestHash: "h1",
      state: "done",
      result: purged,
      expiresAtMs: NOW + 600_000,
    });
    await store().replaceIdempotencyResult(randomUUID(), purged);
  });
}
