import { expect, it } from "vitest";
import type { MessageHead, Version } from "../../functions/core/model.ts";
import { InvalidPageTokenError, type Store } from "../../functions/core/store.ts";
import { created, freshApp, head, version } from "./fixtures.ts";

/** Heads and versions: create, whole-head writes, versions once each, version 1 through the head. */
export function messageCases(store: () => Store): void {
  it("creates a head once; a second create returns the head that is there, unchanged", async () => {
    const h = head(freshApp(), 1);
    expect(await store().createHead(h)).toBeUndefined();
    expect(await store().getHead(h.id)).toEqual(h);
    const again = await store().createHead({ ...h, content: { other: true }, rev: 7 });
    expect(again).toEqual(h);
    expect(await store().getHead(h.id)).toEqual(h);
  });

  it("creates once under concurrent duplicates: one create, every other call gets the head", async () => {
    const h = head(freshApp(), 2);
    const results = await Promise.all(Array.from({ length: 20 }, () => store().createHead(h)));
    expect(results.filter((r) => r === undefined)).toHaveLength(1);
    for (const r of results.filter((x) => x !== undefined)) expect(r).toEqual(h);
  });

  it("reads an absent message as undefined everywhere", async () => {
    const id = head(freshApp(), 1).id;
    expect(await store().getHead(id)).toBeUndefined();
    expect(await store().getVersion(id, 1)).toBeUndefined();
    expect(await store().getVersion(id, 2)).toBeUndefined();
    expect(await store().recentVersions(id, 5)).toEqual([]);
    expect((await store().listVersions(id, { limit: 5 })).items).toEqual([]);
  });

  it("writes a whole head only at the expected revision (or when absent, without one)", async () => {
    const h = head(freshApp(), 1);
    expect(await store().putHead(h, undefined)).toBe(true);
    expect(await store().putHead(h, undefined)).toBe(false);
    expect(await store().putHead({ ...h, rev: 2 }, 0)).toBe(false);
    expect(await store().putHead({ ...h, rev: 2 }, 2)).toBe(false);
    expect(await store().putHead({ ...h, rev: 2, state: "recalled" }, 1)).toBe(true);
    expect(await store().getHead(h.id)).toEqual({ ...h, rev: 2, state: "recalled" });
    expect(await store().putHead({ ...h, rev: 3 }, 1)).toBe(false);
  });

  it("round-trips a whole head with its lease and intent, and a write without them removes them", async () => {
    const h = head(freshApp(), 1, {
      lease: { owner: "o", until: 2_000_000_000_000 },
      intent: {
        intentId: "i-1",
        leaseOwner: "o",
        baseVersion: 1,
        baseContent: { a: 1 },
        content: { a: 2 },
        changed: { a: 2 },
        contentHash: "h",
        source: "api",
        actor: "admin",
        idempotencyKey: "k",
        idempotencyHash: "kh",
        state: "unknown",
        confirmedAt: "2026-01-01T00:00:09.000Z",
        createdAt: "2026-01-01T00:00:05.000Z",
        deadline: 1_767_225_610_000,
      },
      operator: "admin",
      notEditable: "AVChatRoom",
      sendError: { code: 20_001, info: "x" },
      key: { from: "u1", to: "peer", msgKey: "k1", big: "18446744073709551615" },
    });
    expect(await store().createHead(h)).toBeUndefined();
    expect(await store().getHead(h.id)).toEqual(h);
    const { lease: _lease, intent: _intent, ...bare } = h;
    expect(await store().putHead({ ...bare, rev: 2 }, 1)).toBe(true);
    expect(await store().getHead(h.id)).toEqual({ ...bare, rev: 2 });
  });

  it("keeps a head without version 1 (nothing delivered yet) and adds it with a whole-head write", async () => {
    const { first, ...pending } = head(freshApp(), 1, { state: "pending", version: 0 });
    const { content: _c, contentHash: _h, eventAt: _e, ...bare } = pending;
    expect(await store().createHead(bare)).toBeUndefined();
    expect(await store().getHead(bare.id)).toEqual(bare);
    expect(await store().recentVersions(bare.id, 3)).toEqual([]);
    expect(await store().getVersion(bare.id, 1)).toBeUndefined();
    expect(await store().replaceVersion(bare.id, version(1))).toBe(false);
    const sent: MessageHead = { ...pending, state: "sent", version: 1, rev: 2, first: first as Version };
    expect(await store().putHead(sent, 1)).toBe(true);
    expect(await store().getVersion(bare.id, 1)).toEqual(first);
  });

  it("writes versions 2 and later once each and reads them with version 1 from the head", async () => {
    const h = await created(store());
    for (let n = 2; n <= 25; n++) expect(await store().putVersion(h.id, version(n))).toBe(true);
    expect(await store().putVersion(h.id, version(3, "again"))).toBe(false);
    expect(await store().getVersion(h.id, 3)).toEqual(version(3));
    expect(await store().getVersion(h.id, 1)).toEqual(h.first);
    expect(await store().getVersion(h.id, 26)).toBeUndefined();

    const pages: number[][] = [];
    let token: string | undefined;
    do {
      const page = await store().listVersions(h.id, { limit: 10, ...(token ? { nextToken: token } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(10);
      pages.push(page.items.map((v) => v.version));
      token = page.nextToken;
    } while (token !== undefined && pages.length < 10);
    expect(pages.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(pages[0]).toHaveLength(10);
    const [firstPage] = pages;
    expect(firstPage?.[0]).toBe(1);
    expect((await store().listVersions(h.id, { limit: 50 })).items[0]).toEqual(h.first);

    expect((await store().recentVersions(h.id, 3)).map((v) => v.version)).toEqual([25, 24, 23]);
    expect(await store().recentVersions(h.id, 3)).toEqual([version(25), version(24), version(23)]);
  });

  it("includes version 1 in the recent versions when the limit reaches it", async () => {
    const h = await created(store());
    expect(await store().recentVersions(h.id, 3)).toEqual([h.first]);
    await store().putVersion(h.id, version(2));
    expect(await store().recentVersions(h.id, 2)).toEqual([version(2), h.first]);
    expect(await store().recentVersions(h.id, 1)).toEqual([version(2)]);
  });

  it("writes the same version number once under concurrent writers", async () => {
    const h = await created(store());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store().putVersion(h.id, version(2, `w${i}`))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("replaces an existing version (a stale mark, a purge) and refuses one that does not exist", async () => {
    const h = await created(store());
    await store().putVersion(h.id, version(2));
    const stale = { ...version(2), stale: true as const };
    expect(await store().replaceVersion(h.id, stale)).toBe(true);
    expect(await store().getVersion(h.id, 2)).toEqual(stale);
    expect(await store().replaceVersion(h.id, version(3))).toBe(false);
    expect(await store().getVersion(h.id, 3)).toBeUndefined();
  });

  it("replaces version 1 in the head: the head's first changes and its rev moves on", async () => {
    const h = await created(store());
    const purged = {
      ...(h.first as NonNullable<MessageHead["first"]>),
      content: {},
      purged: { at: "2026-01-02T00:00:00.000Z", by: "admin", reason: "gdpr" },
    };
    expect(await store().replaceVersion(h.id, purged)).toBe(true);
    expect(await store().getVersion(h.id, 1)).toEqual(purged);
    const after = await store().getHead(h.id);
    expect(after?.first).toEqual(purged);
    expect(after?.rev).toBe(h.rev + 1);
    expect(await store().putHead({ ...h, rev: h.rev + 1 }, h.rev)).toBe(false);
    expect((await store().listVersions(h.id, { limit: 5 })).items).toEqual([purged]);
    expect(await store().replaceVersion(head(freshApp(), 1).id, purged)).toBe(false);
  });

  it("refuses version page tokens it did not issue for that message", async () => {
    const h = await created(store());
    for (let n = 2; n <= 4; n++) await store().putVersion(h.id, version(n));
    const page = await store().listVersions(h.id, { limit: 2 });
    expect(page.nextToken).toBeDefined();
    const other = await created(store());
    await expect(
      store().listVersions(other.id, { limit: 2, nextToken: page.nextToken as string }),
    ).rejects.toThrow(InvalidPageTokenError);
    await expect(store().listVersions(h.id, { limit: 2, nextToken: "not-a-token" })).rejects.toThrow(
      InvalidPageTokenError,
    );
    const forged = Buffer.from(JSON.stringify({ pk: "M#x", sk: "V#0000000001" })).toString("base64url");
    await expect(store().listVersions(h.id, { limit: 2, nextToken: forged })).rejects.toThrow(
      InvalidPageTokenError,
    );
  });
}
