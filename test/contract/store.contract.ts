import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../functions/core/store.ts";
import type { ContractTarget, RunningTarget } from "../helpers/store-targets.ts";
import { coordinationCases } from "./coordination.contract.ts";
import { head, version } from "./fixtures.ts";
import { idempotencyCases } from "./idempotency.contract.ts";
import { jobCases } from "./jobs.contract.ts";
import { listingCases } from "./listings.contract.ts";
import { messageCases } from "./messages.contract.ts";

/**
 * The store contract: every behaviour the `Store` port documents (functions/core/store.ts), run
 * unchanged against every adapter (test/contract/store.test.ts). Cases use fresh app ids and message
 * ids, so they share one store per target; retention gets a store of its own with a clock.
 */
export function storeContract(target: ContractTarget): void {
  let running: RunningTarget | undefined;
  let shared: Store | undefined;
  beforeAll(async () => {
    running = await target.start();
    shared = await running.store();
  });
  afterAll(async () => {
    await running?.close();
  });
  const store = (): Store => {
    if (!shared) throw new Error(`${target.name} did not start`);
    return shared;
  };

  describe("messages and versions", () => messageCases(store));
  describe("edit coordination", () => coordinationCases(store));
  describe("idempotency", () => idempotencyCases(store));
  describe("listings and natural keys", () => listingCases(store));
  describe("bulk jobs", () =>
    jobCases(store, () => {
      if (!running) throw new Error(`${target.name} did not start`);
      return running.store();
    }));

  describe("retention", () => {
    it("treats a message past its retention as absent everywhere, and lets it be created anew", async () => {
      if (!running) throw new Error(`${target.name} did not start`);
      let now = new Date("2026-01-01T00:10:00.000Z");
      const retained = await running.store({ retentionDays: 30, now: () => now });
      const h = head("retention-app", 1);
      expect(await retained.createHead(h)).toBeUndefined();
      expect(await retained.putVersion(h.id, version(2))).toBe(true);
      const query = { provider: "tencent" as const, appId: h.appId, limit: 5 };
      expect((await retained.list(query)).items).toHaveLength(1);

      now = new Date("2026-02-01T00:00:00.000Z");
      expect(await retained.getHead(h.id)).toBeUndefined();
      expect(await retained.getVersion(h.id, 1)).toBeUndefined();
      expect(await retained.getVersion(h.id, 2)).toBeUndefined();
      expect(await retained.recentVersions(h.id, 5)).toEqual([]);
      expect((await retained.listVersions(h.id, { limit: 5 })).items).toEqual([]);
      expect((await retained.list(query)).items).toEqual([]);
      expect((await retained.list({ ...query, conversation: h.conversation })).items).toEqual([]);
      expect((await retained.list({ ...query, sender: h.sender as string })).items).toEqual([]);
      const found = await retained.findByKey({
        provider: "tencent",
        appId: h.appId,
        lookupKey: h.lookupKey as string,
        sender: h.sender as string,
        sentBetween: [h.createdAt, h.createdAt],
      });
      expect(found).toEqual([]);

      // The same message again (a redelivery long after): a new record, not the expired one.
      const again = { ...h, createdAt: "2026-01-31T00:00:00.000Z", updatedAt: "2026-01-31T00:00:00.000Z" };
      expect(await retained.createHead(again)).toBeUndefined();
      expect(await retained.getHead(h.id)).toEqual(again);
    });
  });
}
