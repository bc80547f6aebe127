import { expect, it } from "vitest";
import { messageId } from "../../functions/core/model.ts";
import { InvalidPageTokenError, KeyQueryTooBroadError, type Store } from "../../functions/core/store.ts";
import { collect, freshApp, head } from "./fixtures.ts";

/** Listings by conversation, sender and app (newest first, since/until, paging) and natural-key lookups. */
export function listingCases(store: () => Store): void {
  it("lists a conversation newest first, paged, within since/until", async () => {
    const appId = freshApp();
    for (let n = 0; n < 30; n++) await store().createHead(head(appId, n));
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
    const expected = Array.from({ length: 30 }, (_, n) => n).filter((n) => n % 3 === 0);
    expect(all.ids).toEqual(expected.reverse().map((n) => head(appId, n).id));
    expect(all.pages).toBeLessThanOrEqual(4);
    const window = await store().list({
      provider: "tencent",
      appId,
      conversation,
      limit: 50,
      since: head(appId, 6).createdAt,
      until: head(appId, 12).createdAt,
    });
    expect(window.items.map((h) => h.id)).toEqual([12, 9, 6].map((n) => head(appId, n).id));
    const reversed = await store().list({
      provider: "tencent",
      appId,
      conversation,
      limit: 5,
      since: head(appId, 12).createdAt,
      until: head(appId, 6).createdAt,
    });
    expect(reversed.items).toEqual([]);
  });

  it("returns whole heads in a listing, as getHead does", async () => {
    const appId = freshApp();
    const h = head(appId, 1);
    await store().createHead(h);
    const page = await store().list({ provider: "tencent", appId, conversation: h.conversation, limit: 5 });
    expect(page.items).toEqual([await store().getHead(h.id)]);
  });

  it("filters a conversation by sender and lists a sender alone", async () => {
    const appId = freshApp();
    for (let n = 0; n < 9; n++) {
      await store().createHead(head(appId, n, { conversation: "group:g", sender: `s${n % 2}` }));
    }
    const inConversation = await collect((token) =>
      store().list({
        provider: "tencent",
        appId,
        conversation: "group:g",
        sender: "s1",
        limit: 2,
        ...(token ? { nextToken: token } : {}),
      }),
    );
    expect(inConversation.ids).toEqual([7, 5, 3, 1].map((n) => head(appId, n).id));
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
    const window = await store().list({
      provider: "tencent",
      appId,
      sender: "s0",
      limit: 10,
      since: head(appId, 2).createdAt,
      until: head(appId, 6).createdAt,
    });
    expect(window.items.map((h) => h.id)).toEqual([6, 4, 2].map((n) => head(appId, n).id));
  });

  it("lists a whole app newest first, paged, without gaps or repeats, and apps apart", async () => {
    const appId = freshApp();
    const heads = Array.from({ length: 40 }, (_, n) => head(appId, n));
    await Promise.all(heads.map((h) => store().createHead(h)));
    await store().createHead(head(freshApp(), 3));
    const all = await collect((token) =>
      store().list({ provider: "tencent", appId, limit: 7, ...(token ? { nextToken: token } : {}) }),
    );
    expect(all.ids).toEqual([...heads].reverse().map((h) => h.id));
    expect(all.pages).toBeLessThanOrEqual(7);
    const window = await store().list({
      provider: "tencent",
      appId,
      limit: 3,
      since: head(appId, 10).createdAt,
      until: head(appId, 20).createdAt,
    });
    expect(window.items.map((h) => h.id)).toEqual([20, 19, 18].map((n) => head(appId, n).id));
    expect((await store().list({ provider: "netease", appId, limit: 5 })).items).toEqual([]);
  });

  it("moves a head in the listings when a whole-head write changes its send time", async () => {
    const appId = freshApp();
    const [a, b] = [head(appId, 1), head(appId, 2)];
    await store().createHead(a);
    await store().createHead(b);
    expect(await store().putHead({ ...a, createdAt: "2026-01-01T00:00:03.000Z", rev: 2 }, 1)).toBe(true);
    const page = await store().list({ provider: "tencent", appId, limit: 5 });
    expect(page.items.map((h) => h.id)).toEqual([a.id, b.id]);
  });

  it("keeps resolved provisional heads out of every listing and lookup", async () => {
    const appId = freshApp();
    const provisional = head(appId, 1, {
      id: messageId("pgrp", [appId]),
      state: "pending",
      resolvedId: "grp_x",
    });
    await store().createHead(provisional);
    expect((await store().list({ provider: "tencent", appId, limit: 10 })).items).toEqual([]);
    const byConversation = { provider: "tencent", appId, conversation: provisional.conversation, limit: 10 };
    expect((await store().list(byConversation as never)).items).toEqual([]);
    expect(
      await store().findByKey({
        provider: "tencent",
        appId,
        lookupKey: provisional.lookupKey as string,
        sender: provisional.sender as string,
        sentBetween: [provisional.createdAt, provisional.createdAt],
      }),
    ).toEqual([]);
    expect(await store().getHead(provisional.id)).toMatchObject({ resolvedId: "grp_x" });
  });

  it("refuses list page tokens it did not issue for that query", async () => {
    const appId = freshApp();
    for (let n = 0; n < 6; n++) await store().createHead(head(appId, n));
    const bad = (nextToken: string, query: { conversation?: string; sender?: string } = {}) =>
      expect(store().list({ provider: "tencent", appId, limit: 2, nextToken, ...query })).rejects.toThrow(
        InvalidPageTokenError,
      );
    await bad("not-a-token");
    await bad(
      Buffer.from(JSON.stringify({ convPk: "other", convSk: "x", pk: "M#x", sk: "H" })).toString("base64url"),
    );
    const conversationPage = await store().list({
      provider: "tencent",
      appId,
      conversation: "c2c:peer:u0",
      limit: 1,
    });
    expect(conversationPage.nextToken).toBeDefined();
    await bad(conversationPage.nextToken as string, { conversation: "c2c:peer:u1" });
  });

  it("finds every head sharing a natural-key entry, narrowed by the key's hints", async () => {
    const appId = freshApp();
    const a = head(appId, 1);
    const b = head(appId, 2, { lookupKey: a.lookupKey as string, sender: "u1" });
    const c = head(appId, 3);
    for (const h of [a, b, c]) await store().createHead(h);
    const query = { provider: "tencent" as const, appId, lookupKey: a.lookupKey as string };
    const hinted = await store().findByKey({
      ...query,
      sender: "u1",
      sentBetween: [a.createdAt, b.createdAt],
    });
    expect(hinted.map((h) => h.id).sort()).toEqual([a.id, b.id].sort());
    expect(hinted.find((h) => h.id === a.id)).toEqual(a);
    expect(
      await store().findByKey({ ...query, sender: "u2", sentBetween: [a.createdAt, b.createdAt] }),
    ).toEqual([]);
    const narrowed = await store().findByKey({
      ...query,
      sender: "u1",
      sentBetween: [b.createdAt, c.createdAt],
    });
    expect(narrowed.map((h) => h.id)).toEqual([b.id]);
    expect(
      await store().findByKey({
        ...query,
        lookupKey: "c2c|none",
        sender: "u1",
        sentBetween: [a.createdAt, c.createdAt],
      }),
    ).toEqual([]);
    expect(
      await store().findByKey({
        ...query,
        provider: "netease",
        sender: "u1",
        sentBetween: [a.createdAt, c.createdAt],
      }),
    ).toEqual([]);
    // Without hints: the exact set, or a refusal for adapters that need them (never a wrong answer).
    const unhinted = await store()
      .findByKey(query)
      .catch((error: unknown) => {
        expect(error).toBeInstanceOf(KeyQueryTooBroadError);
        return undefined;
      });
    if (unhinted !== undefined) expect(unhinted.map((h) => h.id).sort()).toEqual([a.id, b.id].sort());
  });
}
