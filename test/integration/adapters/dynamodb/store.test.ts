import { randomUUID } from "node:crypto";
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../../functions/adapters/dynamodb/client.ts";
import {
  appShard,
  DynamoStore,
  itemSize,
  storedBytes,
} from "../../../../functions/adapters/dynamodb/store.ts";
import { HEAD_SK, messagePk } from "../../../../functions/adapters/dynamodb/table.ts";
import {
  contentHash,
  type EditIntent,
  type MessageHead,
  messageId,
  type Version,
} from "../../../../functions/core/model.ts";
import { InvalidPageTokenError, KeyQueryTooBroadError } from "../../../../functions/core/store.ts";
import { collect } from "../../../contract/fixtures.ts";
import { ensureTable, STORE_TARGETS } from "../../../helpers/dynamo.ts";
import { shortTextHead } from "../../../helpers/dynamo-sample.ts";
import { countingClient, useStore } from "../../../helpers/store.ts";

const text = (value: string) => ({ MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }] });

function head(appId: string, n: number, overrides: Partial<MessageHead> = {}): MessageHead {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  const content = text(`m${n}`);
  const hash = contentHash(content);
  return {
    id: messageId("c2c", ["t", appId, String(n)]),
    provider: "tencent",
    appId,
    kind: "c2c",
    key: { from: `u${n % 3}`, to: "peer", msgKey: `k${n}` },
    conversation: `c2c:peer:u${n % 3}`,
    sender: `u${n % 3}`,
    state: "sent",
    version: 1,
    content,
    contentHash: hash,
    eventAt: 1_767_225_600_000 + n,
    lookupKey: `c2c|k${n}`,
    createdAt,
    updatedAt: createdAt,
    rev: 1,
    first: { version: 1, content, contentHash: hash, source: "callback", actor: `u${n % 3}`, at: createdAt },
    ...overrides,
  };
}

function version(n: number, value = `v${n}`, extra: Partial<Version> = {}): Version {
  const content = text(value);
  return {
    version: n,
    content,
    contentHash: contentHash(content),
    source: "api",
    at: "2026-01-02T00:00:00.000Z",
    ...extra,
  };
}

function intent(baseVersion: number, overrides: Partial<EditIntent> = {}): EditIntent {
  const content = text("edited");
  return {
    intentId: randomUUID(),
    leaseOwner: "editor-1",
    baseVersion,
    baseContent: text("m1"),
    content,
    changed: content,
    contentHash: contentHash(content),
    source: "api",
    actor: "admin",
    state: "open",
    createdAt: "2026-01-02T00:00:00.000Z",
    deadline: 2_000_000_000_000,
    ...overrides,
  };
}

describe.each(STORE_TARGETS)("DynamoStore on $name", (target) => {
  const { store, storeWith, table } = useStore(target);
  const rawHead = async (id: string) => {
    const { client, tableName } = table();
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: messagePk(id), sk: HEAD_SK }, ConsistentRead: true }),
    );
    return Item as Record<string, unknown>;
  };

  describe("heads", () => {
    it("records a short text message as one item under 1 KB, 2 KB stored with its index entries", async () => {
      const h = { ...shortTextHead(), id: messageId("c2c", [randomUUID()]) };
      expect(await store().createHead(h)).toBeUndefined();
      const item = await rawHead(h.id);
      expect(itemSize(item)).toBeLessThanOrEqual(1024);
      expect(storedBytes(item)).toBeLessThanOrEqual(2048);
      expect(item).not.toHaveProperty("id");
      expect(item.first).not.toHaveProperty("content");
      expect(await store().getHead(h.id)).toEqual(h);
    });

    it("answers a duplicate create with the head that is there", async () => {
      const h = head(randomUUID(), 1);
      expect(await store().createHead(h)).toBeUndefined();
      const counted = countingClient(table().client);
      const again = await storeWith({}, counted.client).createHead({ ...h, updatedAt: "later" });
      expect(again).toEqual(h);
      // DynamoDB returns the old item with the refusal; dynalite does not, so a read follows there.
      expect(counted.calls).toEqual(
        target.name === "dynalite" ? ["PutCommand", "GetCommand"] : ["PutCommand"],
      );
    });

    it("writes a head only at the expected revision", async () => {
      const h = head(randomUUID(), 1);
      expect(await store().putHead(h, undefined)).toBe(true);
      expect(await store().putHead(h, undefined)).toBe(false);
      expect(await store().putHead({ ...h, rev: 2 }, 0)).toBe(false);
      expect(await store().putHead({ ...h, rev: 2 }, 1)).toBe(true);
      expect(await store().getHead(h.id)).toEqual({ ...h, rev: 2 });
    });
  });

  describe("versions", () => {
    it("reads version 1 from the head and the rest from their items, oldest first, paged", async () => {
      const h = head(randomUUID(), 1);
      await store().createHead(h);
      for (let n = 2; n <= 25; n++) expect(await store().putVersion(h.id, version(n))).toBe(true);
      expect(await store().putVersion(h.id, version(3, "again"))).toBe(false);
      await expect(store().putVersion(h.id, version(1))).rejects.toThrow(/version 1/);
      const first = await store().listVersions(h.id, { limit: 20 });
      expect(first.items[0]).toEqual(h.first);
      const second = await store().listVersions(h.id, {
        limit: 20,
        ...(first.nextToken ? { nextToken: first.nextToken } : {}),
      });
      expect(second.nextToken).toBeUndefined();
      expect([...first.items, ...second.items].map((v) => v.version)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      expect((await store().recentVersions(h.id, 3)).map((v) => v.version)).toEqual([25, 24, 23]);
      expect(await store().recentVersions(h.id, 30)).toHaveLength(25);
      expect(await store().getVersion(h.id, 1)).toEqual(h.first);
      expect(await store().getVersion(h.id, 7)).toEqual(version(7));
    });

    it("has no versions before anything was delivered", async () => {
      const { first: _, ...pending } = head(randomUUID(), 1, { state: "pending", version: 0 });
      await store().createHead(pending);
      expect(await store().recentVersions(pending.id, 5)).toEqual([]);
      expect((await store().listVersions(pending.id, { limit: 5 })).items).toEqual([]);
      expect(await store().getVersion(pending.id, 1)).toBeUndefined();
      expect(await store().replaceVersion(pending.id, version(1))).toBe(false);
    });

    it("replaces version 1 in the head (and bumps rev), other versions in their items", async () => {
      const h = head(randomUUID(), 1);
      await store().createHead(h);
      const stale = { ...(h.first as Version), stale: true as const };
      expect(await store().replaceVersion(h.id, stale)).toBe(true);
      expect(await store().getVersion(h.id, 1)).toEqual(stale);
      const after = await store().getHead(h.id);
      expect(after).toEqual({ ...h, first: stale, rev: 2 });
      expect(await store().replaceVersion(h.id, version(2))).toBe(false);
      await store().putVersion(h.id, version(2));
      expect(await store().replaceVersion(h.id, version(2, "purged"))).toBe(true);
      expect(await store().getVersion(h.id, 2)).toEqual(version(2, "purged"));
    });
  });

  describe("edit coordination on the head", () => {
    it("takes, extends and releases the lease, each write bumping rev", async () => {
      const h = head(randomUUID(), 1);
      expect(await store().acquireLease(h.id, { owner: "a", until: 100 }, 0)).toBe(false);
      await store().createHead(h);
      expect(await store().acquireLease(h.id, { owner: "a", until: 100 }, 0)).toBe(true);
      expect(await store().acquireLease(h.id, { owner: "b", until: 200 }, 50)).toBe(false);
      expect(await store().acquireLease(h.id, { owner: "a", until: 150 }, 50)).toBe(true);
      expect(await store().extendLease(h.id, { owner: "b", until: 300 })).toBe(false);
      expect(await store().extendLease(h.id, { owner: "a", until: 300 })).toBe(true);
      expect(await store().acquireLease(h.id, { owner: "b", until: 400 }, 301)).toBe(true);
      await store().releaseLease(h.id, "a");
      expect((await store().getHead(h.id))?.lease).toEqual({ owner: "b", until: 400 });
      await store().releaseLease(h.id, "b");
      const after = await store().getHead(h.id);
      expect(after?.lease).toBeUndefined();
      expect(after?.rev).toBe(h.rev + 5);
      // A writer holding the head from before cannot erase what was written since.
      expect(await store().putHead({ ...h, rev: 2 }, h.rev)).toBe(false);
    });

    it("begins an edit only at the base version, with the lease free and no unsettled intent", async () => {
      const h = head(randomUUID(), 1);
      await store().createHead(h);
      const lease = { owner: "editor-1", until: 1_000 };
      expect(await store().beginEdit(h.id, lease, intent(2), 0)).toBe(false);
      const open = intent(1);
      expect(await store().beginEdit(h.id, lease, open, 0)).toBe(true);
      expect(await store().getHead(h.id)).toMatchObject({ lease, intent: open, rev: h.rev + 1 });
      // The lease is ours, but the open intent blocks a second edit.
      expect(await store().beginEdit(h.id, lease, intent(1), 0)).toBe(false);
      expect(await store().updateIntent(h.id, open.intentId, { state: "applied" }, "unknown")).toBe(false);
      expect(await store().updateIntent(h.id, open.intentId, { state: "applied" }, "open")).toBe(true);
      expect(await store().beginEdit(h.id, { owner: "editor-2", until: 2_000 }, intent(1), 500)).toBe(false);
      expect(await store().beginEdit(h.id, { owner: "editor-2", until: 2_000 }, intent(1), 1_001)).toBe(true);
    });

    it("puts, updates and deletes the intent, keeping an applied one unless asked", async () => {
      const h = head(randomUUID(), 1);
      await store().createHead(h);
      const i = intent(1);
      expect(await store().putIntent(h.id, i)).toBe(false); // not under its editor's lease
      await store().acquireLease(h.id, { owner: i.leaseOwner, until: Date.now() + 60_000 }, Date.now());
      expect(await store().putIntent(h.id, i)).toBe(true);
      expect((await store().getHead(h.id))?.intent).toEqual(i);
      expect(await store().updateIntent(h.id, "other", { state: "unknown" })).toBe(false);
      expect(await store().updateIntent(h.id, i.intentId, { state: "applied", confirmedAt: "now" })).toBe(
        true,
      );
      expect(await store().deleteIntent(h.id, i.intentId)).toBe(false);
      expect(await store().deleteIntent(h.id, i.intentId, { evenIfApplied: true })).toBe(true);
      expect((await store().getHead(h.id))?.intent).toBeUndefined();
      expect(await store().deleteIntent(h.id, i.intentId, { evenIfApplied: true })).toBe(false);
    });

    it("commits an edit in one write: new content, version 1 kept, intent applied, lease released", async () => {
      const h = head(randomUUID(), 1, { state: "pending" });
      await store().createHead(h);
      const lease = { owner: "editor-1", until: 1_000 };
      const open = intent(1);
      await store().beginEdit(h.id, lease, open, 0);
      const v2 = version(2, "edited", { intentId: open.intentId, eventAt: 1_800_000_000_000 });
      await store().putVersion(h.id, v2);
      const commit = {
        owner: "editor-1",
        version: v2,
        eventAt: 1_800_000_000_000,
        echoUntil: 5_000,
        updatedAt: "u",
      };
      expect(await store().commitEdit(h.id, { ...commit, owner: "someone" })).toBeUndefined();
      expect(
        await store().commitEdit(h.id, { ...commit, version: { ...v2, intentId: "other" } }),
      ).toBeUndefined();
      expect(await store().commitEdit(h.id, { ...commit, version: { ...v2, version: 3 } })).toBeUndefined();
      const committed = await store().commitEdit(h.id, commit);
      const expected: MessageHead = {
        ...h,
        state: "sent",
        version: 2,
        content: v2.content,
        contentHash: v2.contentHash,
        eventAt: 1_800_000_000_000,
        updatedAt: "u",
        rev: h.rev + 2,
        intent: { ...open, state: "applied", deadline: 5_000 },
      };
      expect(committed).toEqual(expected);
      expect(await store().getHead(h.id)).toEqual(expected);
      expect(await store().getVersion(h.id, 1)).toEqual(h.first);
      expect((await store().listVersions(h.id, { limit: 5 })).items).toEqual([h.first, v2]);
      // Committed once: the same commit again finds the head moved on.
      expect(await store().commitEdit(h.id, commit)).toBeUndefined();
    });

    it("does not commit over a recall that landed during the call (the slow path keeps it sticky)", async () => {
      const h = head(randomUUID(), 1);
      await store().createHead(h);
      const open = intent(1);
      await store().beginEdit(h.id, { owner: "editor-1", until: 1_000 }, open, 0);
      const current = (await store().getHead(h.id)) as MessageHead;
      await store().putHead({ ...current, state: "recalled", rev: current.rev + 1 }, current.rev);
      const v2 = version(2, "edited", { intentId: open.intentId });
      await store().putVersion(h.id, v2);
      const commit = { owner: "editor-1", version: v2, eventAt: 1, echoUntil: 2, updatedAt: "u" };
      expect(await store().commitEdit(h.id, commit)).toBeUndefined();
    });
  });

  describe("listings", () => {
    it("lists a conversation newest first, paged, within since/until, one BatchGetItem per page", async () => {
      const appId = randomUUID();
      for (let n = 0; n < 30; n++) await store().putHead(head(appId, n), undefined);
      const conversation = "c2c:peer:u0";
      const counted = countingClient(table().client);
      const all = await collect((token) =>
        storeWith({}, counted.client).list({
          provider: "tencent",
          appId,
          conversation,
          limit: 4,
          ...(token ? { nextToken: token } : {}),
        }),
      );
      const expected = Array.from({ length: 30 }, (_, n) => n)
        .filter((n) => n % 3 === 0)
        .reverse();
      expect(all.ids).toEqual(expected.map((n) => head(appId, n).id));
      expect(counted.calls.filter((name) => name === "BatchGetCommand")).toHaveLength(3);
      const window = await store().list({
        provider: "tencent",
        appId,
        conversation,
        limit: 50,
        since: head(appId, 6).createdAt,
        until: head(appId, 12).createdAt,
      });
      expect(window.items).toEqual([12, 9, 6].map((n) => head(appId, n)));
    });

    it("reads a page of 100 heads with one BatchGetItem", async () => {
      const appId = randomUUID();
      const heads = Array.from({ length: 100 }, (_, n) => head(appId, n, { conversation: "group:big" }));
      await Promise.all(heads.map((h) => store().createHead(h)));
      const counted = countingClient(table().client);
      const page = await storeWith({}, counted.client).list({
        provider: "tencent",
        appId,
        conversation: "group:big",
        limit: 100,
      });
      expect(page.items).toEqual([...heads].reverse());
      expect(counted.calls).toEqual(["QueryCommand", "BatchGetCommand"]);
    });

    it("filters a conversation by sender and lists a sender alone (its byApp shard)", async () => {
      const appId = randomUUID();
      for (let n = 0; n < 9; n++) {
        await store().putHead(head(appId, n, { conversation: "group:g", sender: `s${n % 2}` }), undefined);
      }
      const inConversation = await store().list({
        provider: "tencent",
        appId,
        conversation: "group:g",
        sender: "s1",
        limit: 2,
      });
      expect(inConversation.items.map((h) => h.sender)).toEqual(["s1", "s1"]);
      const bySender = await collect((token) =>
        store().list({
          provider: "tencent",
          appId,
          sender: "s0",
          limit: 2,
          ...(token ? { nextToken: token } : {}),
        }),
      );
      expect(bySender.ids).toEqual([8, 6, 4, 2, 0].map((n) => head(appId, n).id));
    });

    it("lists a whole app across its shards, newest first, without gaps or repeats", async () => {
      const appId = randomUUID();
      const heads = Array.from({ length: 40 }, (_, n) => head(appId, n, { sender: `sender${n}` }));
      expect(new Set(heads.map((h) => appShard(h.sender as string))).size).toBeGreaterThan(8);
      await Promise.all(heads.map((h) => store().putHead(h, undefined)));
      const all = await collect((token) =>
        store().list({ provider: "tencent", appId, limit: 7, ...(token ? { nextToken: token } : {}) }),
      );
      expect(all.ids).toEqual([...heads].reverse().map((h) => h.id));
      expect(all.pages).toBe(6);
    });

    it("keeps resolved provisional heads out of every listing", async () => {
      const appId = randomUUID();
      const provisional = head(appId, 1, {
        id: messageId("pgrp", [appId]),
        state: "pending",
        resolvedId: "grp_x",
      });
      await store().putHead(provisional, undefined);
      expect((await store().list({ provider: "tencent", appId, limit: 10 })).items).toEqual([]);
      expect(
        (
          await store().list({
            provider: "tencent",
            appId,
            conversation: provisional.conversation,
            limit: 10,
          })
        ).items,
      ).toEqual([]);
      expect(await store().getHead(provisional.id)).toMatchObject({ resolvedId: "grp_x" });
    });

    it("refuses page tokens it did not issue for that query", async () => {
      const appId = randomUUID();
      await expect(
        store().list({ provider: "tencent", appId, limit: 5, nextToken: "not-a-token" }),
      ).rejects.toThrow(InvalidPageTokenError);
      const foreign = Buffer.from(JSON.stringify({ cv: "other", ts: "x", pk: "M#x", sk: "H" })).toString(
        "base64url",
      );
      await expect(
        store().list({ provider: "tencent", appId, conversation: "c", limit: 5, nextToken: foreign }),
      ).rejects.toThrow(InvalidPageTokenError);
      await expect(
        store().list({ provider: "tencent", appId, sender: "s", limit: 5, nextToken: foreign }),
      ).rejects.toThrow(InvalidPageTokenError);
      await expect(store().listVersions("c2c_x", { limit: 20, nextToken: foreign })).rejects.toThrow(
        InvalidPageTokenError,
      );
    });
  });

  describe("partial natural keys", () => {
    it("finds heads by key within send-time bounds, in every shard or the sender's", async () => {
      const appId = randomUUID();
      const a = head(appId, 1, { lookupKey: "c2c|same", sender: "alice" });
      const b = head(appId, 2, { lookupKey: "c2c|same", sender: "bob" });
      const c = head(appId, 3, { lookupKey: "c2c|other", sender: "alice" });
      await Promise.all([a, b, c].map((h) => store().createHead(h)));
      const query = { provider: "tencent" as const, appId, lookupKey: "c2c|same" };
      const between = [a.createdAt, b.createdAt] as const;
      const ids = (heads: MessageHead[]) => heads.map((h) => h.id).sort();
      expect(ids(await store().findByKey({ ...query, sentBetween: between }))).toEqual([a.id, b.id].sort());
      expect(await store().findByKey({ ...query, sentBetween: between, sender: "bob" })).toEqual([b]);
      expect(await store().findByKey({ ...query, sender: "alice" })).toEqual([a]);
      expect(await store().findByKey({ ...query, sentBetween: [c.createdAt, c.createdAt] })).toEqual([]);
      await expect(store().findByKey(query)).rejects.toThrow(KeyQueryTooBroadError);
    });
  });

  describe("idempotency records", () => {
    it("claims, completes with a domain result, replaces it, and frees expired keys", async () => {
      const key = randomUUID();
      const record = { key, requestHash: "h1", state: "pending" as const, expiresAtMs: 1_000 };
      expect(await store().claimIdempotencyKey(record, 0)).toBe(true);
      expect(await store().claimIdempotencyKey({ ...record, requestHash: "h2" }, 500)).toBe(false);
      expect(await store().holdIdempotencyKey(key, "h2", 5_000)).toBe(false);
      expect(await store().holdIdempotencyKey(key, "h1", 2_000)).toBe(true);
      expect(await store().getIdempotencyRecord(key, 1_500)).toEqual({ ...record, expiresAtMs: 2_000 });
      await store().completeIdempotencyKey(key, "h1", { outcome: "applied", version: 2 }, 3_000);
      expect(await store().holdIdempotencyKey(key, "h1", 9_000)).toBe(false);
      await store().replaceIdempotencyResult(key, { outcome: "applied", version: 2, purged: true });
      expect(await store().getIdempotencyRecord(key, 2_500)).toEqual({
        key,
        requestHash: "h1",
        state: "done",
        result: { outcome: "applied", version: 2, purged: true },
        expiresAtMs: 3_000,
      });
      expect(await store().getIdempotencyRecord(key, 3_000)).toBeUndefined();
      expect(
        await store().claimIdempotencyKey({ ...record, requestHash: "h3", expiresAtMs: 9_000 }, 3_001),
      ).toBe(true);
      await store().releaseIdempotencyKey(key, "h1");
      expect((await store().getIdempotencyRecord(key, 3_001))?.requestHash).toBe("h3");
      await store().releaseIdempotencyKey(key, "h3");
      expect(await store().getIdempotencyRecord(key, 3_001)).toBeUndefined();
    });
  });

  describe("capacity", () => {
    it("reports what each call consumed; a short text message costs at most 3 WRU (table and indexes)", async () => {
      const reports: { operation: string; consumed: readonly ConsumedCapacity[] }[] = [];
      const observed = storeWith({
        onCapacity: (operation, consumed) => reports.push({ operation, consumed }),
      });
      const h = { ...shortTextHead(), id: messageId("c2c", [randomUUID()]) };
      expect(await observed.createHead(h)).toBeUndefined();
      expect(reports.map((report) => report.operation)).toEqual(["createHead"]);
      const [consumed] = reports[0]?.consumed ?? [];
      expect(consumed?.CapacityUnits).toBeLessThanOrEqual(3);
      if (target.name !== "dynalite") {
        // DynamoDB Local reports the indexes apart (dynalite reports the table only).
        expect(consumed?.Table?.CapacityUnits).toBe(1);
        expect(consumed?.GlobalSecondaryIndexes).toEqual({
          byConversation: { CapacityUnits: 1 },
          byApp: { CapacityUnits: 1 },
        });
        expect(consumed?.CapacityUnits).toBe(3);
      }
      // Lease and intent writes touch no index.
      reports.length = 0;
      await observed.acquireLease(h.id, { owner: "a", until: 10 }, 0);
      expect(reports[0]?.consumed[0]?.GlobalSecondaryIndexes).toBeUndefined();
    });
  });
});

describe("DynamoStore retention", () => {
  const [dynalite] = STORE_TARGETS;
  it("treats items past their retention as gone, and creates over them", async () => {
    if (!dynalite) throw new Error("no store target");
    const running = await dynalite.start();
    try {
      const tableName = `t-${randomUUID()}`;
      await ensureTable(running.endpoint, tableName);
      const client = createDocumentClient({ region: "local", endpoint: running.endpoint });
      let now = new Date("2026-01-01T00:00:00.000Z");
      const store = new DynamoStore(client, tableName, { retentionDays: 30, now: () => now });
      const h = head("app", 1);
      await store.createHead(h);
      await store.putVersion(h.id, version(2));
      expect(await store.getHead(h.id)).toBeDefined();
      now = new Date("2026-02-01T00:00:00.000Z");
      expect(await store.getHead(h.id)).toBeUndefined();
      expect(await store.getVersion(h.id, 2)).toBeUndefined();
      expect(await store.recentVersions(h.id, 5)).toEqual([]);
      expect((await store.list({ provider: "tencent", appId: "app", limit: 5 })).items).toEqual([]);
      expect(await store.acquireLease(h.id, { owner: "a", until: 1 }, 0)).toBe(false);
      const again = { ...h, createdAt: "2026-02-01T00:00:00.000Z" };
      expect(await store.createHead(again)).toBeUndefined();
      expect(await store.getHead(h.id)).toEqual(again);
      client.destroy();
    } finally {
      await running.close();
    }
  });
});
