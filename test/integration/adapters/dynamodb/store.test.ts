import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../../functions/adapters/dynamodb/client.ts";
import { appShard, DynamoMessageStore } from "../../../../functions/adapters/dynamodb/store.ts";
import { contentHash, type MessageHead, messageId } from "../../../../functions/core/model.ts";
import { InvalidPageTokenError } from "../../../../functions/core/store.ts";
import { ensureTable, STORE_TARGETS } from "../../../helpers/dynamo.ts";
import { useStore } from "../../../helpers/store.ts";

function head(appId: string, n: number, overrides: Partial<MessageHead> = {}): MessageHead {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  const content = { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: `m${n}` } }] };
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
    contentHash: contentHash(content),
    lookupKey: `c2c|k${n}`,
    createdAt,
    updatedAt: createdAt,
    rev: 1,
    ...overrides,
  };
}

async function collect(
  read: (token: string | undefined) => Promise<{ items: MessageHead[]; nextToken?: string }>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await read(token);
    ids.push(...page.items.map((item) => item.id));
    token = page.nextToken;
    pages++;
  } while (token !== undefined && pages < 100);
  return { ids, pages };
}

describe.each(STORE_TARGETS)("DynamoMessageStore on $name", (target) => {
  const { store } = useStore(target);

  it("writes a head only at the expected revision", async () => {
    const h = head(randomUUID(), 1);
    expect(await store().putHead(h, undefined)).toBe(true);
    expect(await store().putHead(h, undefined)).toBe(false);
    expect(await store().putHead({ ...h, rev: 2 }, 0)).toBe(false);
    expect(await store().putHead({ ...h, rev: 2 }, 1)).toBe(true);
    expect(await store().getHead(h.id)).toEqual({ ...h, rev: 2 });
  });

  it("writes each version number once and reads them oldest first, paged", async () => {
    const id = messageId("c2c", [randomUUID()]);
    for (let n = 1; n <= 25; n++) {
      const content = { CloudCustomData: String(n) };
      expect(
        await store().putVersion(id, {
          version: n,
          content,
          contentHash: contentHash(content),
          source: "client",
          at: "2026-01-01T00:00:00.000Z",
        }),
      ).toBe(true);
    }
    const content = { CloudCustomData: "again" };
    expect(
      await store().putVersion(id, {
        version: 3,
        content,
        contentHash: contentHash(content),
        source: "client",
        at: "2026-01-01T00:00:00.000Z",
      }),
    ).toBe(false);
    const first = await store().listVersions(id, { limit: 20 });
    const second = await store().listVersions(id, {
      limit: 20,
      ...(first.nextToken ? { nextToken: first.nextToken } : {}),
    });
    expect([...first.items, ...second.items].map((v) => v.version)).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    expect((await store().recentVersions(id, 3)).map((v) => v.version)).toEqual([25, 24, 23]);
  });

  it("finds every head sharing a natural-key entry", async () => {
    const appId = randomUUID();
    const a = head(appId, 1);
    const b = head(appId, 2, { lookupKey: a.lookupKey as string });
    await store().putHead(a, undefined);
    await store().putHead(b, undefined);
    const found = await store().findByKey("tencent", appId, a.lookupKey as string);
    expect(found.map((h) => h.id).sort()).toEqual([a.id, b.id].sort());
    expect(await store().findByKey("tencent", appId, "c2c|none")).toEqual([]);
  });

  it("lists a conversation newest first, paged, within since/until", async () => {
    const appId = randomUUID();
    for (let n = 0; n < 30; n++) await store().putHead(head(appId, n), undefined);
    const conversation = "c2c:peer:u0";
    const all = await collect((token) =>
      store().list({
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
    const window = await store().list({
      provider: "tencent",
      appId,
      conversation,
      limit: 50,
      since: head(appId, 6).createdAt,
      until: head(appId, 12).createdAt,
    });
    expect(window.items.map((h) => h.id)).toEqual([12, 9, 6].map((n) => head(appId, n).id));
  });

  it("filters a conversation by sender and lists a sender alone", async () => {
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
    expect(bySender.ids).toEqual([8, 6, 4, 2, 0].map((n) => head(appId, n, {}).id));
  });

  it("lists a whole app across its shards, newest first, without gaps or repeats", async () => {
    const appId = randomUUID();
    const heads = Array.from({ length: 40 }, (_, n) => head(appId, n));
    expect(new Set(heads.map((h) => appShard(h.id))).size).toBeGreaterThan(8);
    await Promise.all(heads.map((h) => store().putHead(h, undefined)));
    const all = await collect((token) =>
      store().list({ provider: "tencent", appId, limit: 7, ...(token ? { nextToken: token } : {}) }),
    );
    expect(all.ids).toEqual([...heads].reverse().map((h) => h.id));
    expect(all.pages).toBe(6);
  });

  it("keeps resolved provisional heads out of every index", async () => {
    const appId = randomUUID();
    const provisional = head(appId, 1, {
      id: messageId("pgrp", [appId]),
      state: "pending",
      resolvedId: "grp_x",
    });
    await store().putHead(provisional, undefined);
    expect((await store().list({ provider: "tencent", appId, limit: 10 })).items).toEqual([]);
    expect(await store().getHead(provisional.id)).toMatchObject({ resolvedId: "grp_x" });
  });

  it("refuses page tokens it did not issue for that query", async () => {
    const appId = randomUUID();
    await expect(
      store().list({ provider: "tencent", appId, limit: 5, nextToken: "not-a-token" }),
    ).rejects.toThrow(InvalidPageTokenError);
    const foreign = Buffer.from(
      JSON.stringify({ convPk: "other", convSk: "x", pk: "M#x", sk: "H" }),
    ).toString("base64url");
    await expect(
      store().list({ provider: "tencent", appId, conversation: "c", limit: 5, nextToken: foreign }),
    ).rejects.toThrow(InvalidPageTokenError);
    await expect(store().listVersions("c2c_x", { limit: 20, nextToken: foreign })).rejects.toThrow(
      InvalidPageTokenError,
    );
  });
});

describe("DynamoMessageStore retention", () => {
  const [dynalite] = STORE_TARGETS;
  it("treats items past their retention as gone, before DynamoDB's TTL deletes them", async () => {
    if (!dynalite) throw new Error("no store target");
    const running = await dynalite.start();
    try {
      const tableName = `t-${randomUUID()}`;
      await ensureTable(running.endpoint, tableName);
      const client = createDocumentClient({ region: "local", endpoint: running.endpoint });
      let now = new Date("2026-01-01T00:00:00.000Z");
      const store = new DynamoMessageStore(client, tableName, { retentionDays: 30, now: () => now });
      const h = head("app", 1);
      await store.putHead(h, undefined);
      expect(await store.getHead(h.id)).toBeDefined();
      now = new Date("2026-02-01T00:00:00.000Z");
      expect(await store.getHead(h.id)).toBeUndefined();
      expect((await store.list({ provider: "tencent", appId: "app", limit: 5 })).items).toEqual([]);
    } finally {
      await running.close();
    }
  });
});
