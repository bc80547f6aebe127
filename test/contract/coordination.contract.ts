import { expect, it } from "vitest";
import { contentHash, type MessageHead, type Version } from "../../functions/core/model.ts";
import type { EditCommit, Store } from "../../functions/core/store.ts";
import { created, head, intent, NOW, text, version } from "./fixtures.ts";

const lease = (owner: string, until = NOW + 60_000) => ({ owner, until });

/** The edit version 2 of a message, written by intent `intentId` (as the editor's putVersion does). */
function commitOf(intentId: string, owner = "owner-a", n = 2): EditCommit {
  const content = text(`edit ${n}`);
  return {
    owner,
    version: { ...version(n), content, contentHash: contentHash(content), intentId },
    eventAt: NOW + 5,
    echoUntil: NOW + 30_000,
    updatedAt: "2026-01-01T00:10:00.005Z",
  };
}

/** The lease, the intent and the commit, all on the head: conditions, effects, and rev on every write. */
export function coordinationCases(store: () => Store): void {
  it("takes a lease that is free, expired or the owner's own; never a live one of someone else", async () => {
    const h = await created(store());
    expect(await store().acquireLease(head("absent-app", 1).id, lease("a"), NOW)).toBe(false);
    expect(await store().acquireLease(h.id, lease("a"), NOW)).toBe(true);
    expect((await store().getHead(h.id))?.lease).toEqual(lease("a"));
    expect(await store().acquireLease(h.id, lease("b"), NOW)).toBe(false);
    expect(await store().acquireLease(h.id, lease("a", NOW + 90_000), NOW)).toBe(true);
    expect((await store().getHead(h.id))?.lease).toEqual(lease("a", NOW + 90_000));
    expect(await store().acquireLease(h.id, lease("b", NOW + 200_000), NOW + 90_001)).toBe(true);
    expect((await store().getHead(h.id))?.lease).toEqual(lease("b", NOW + 200_000));
  });

  it("gives a contended lease to exactly one of many takers", async () => {
    const h = await created(store());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store().acquireLease(h.id, lease(`o${i}`), NOW)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("extends and releases only the owner's lease", async () => {
    const h = await created(store());
    expect(await store().extendLease(h.id, lease("a"))).toBe(false);
    await store().acquireLease(h.id, lease("a"), NOW);
    expect(await store().extendLease(h.id, lease("b", NOW + 1))).toBe(false);
    expect(await store().extendLease(h.id, lease("a", NOW + 120_000))).toBe(true);
    expect((await store().getHead(h.id))?.lease).toEqual(lease("a", NOW + 120_000));
    await store().releaseLease(h.id, "b");
    expect((await store().getHead(h.id))?.lease).toEqual(lease("a", NOW + 120_000));
    await store().releaseLease(h.id, "a");
    expect((await store().getHead(h.id))?.lease).toBeUndefined();
    expect(await store().extendLease(h.id, lease("a"))).toBe(false);
    await store().releaseLease(h.id, "a");
    expect(await store().acquireLease(h.id, lease("b"), NOW)).toBe(true);
  });

  it("begins an edit (lease and intent in one write) only at the base version, lease free, no unsettled intent", async () => {
    const h = await created(store());
    expect(await store().beginEdit(head("absent-app", 1).id, lease("a"), intent(), NOW)).toBe(false);
    expect(await store().beginEdit(h.id, lease("a"), intent({ baseVersion: 0 }), NOW)).toBe(false);
    const first = intent({ leaseOwner: "a" });
    expect(await store().beginEdit(h.id, lease("a"), first, NOW)).toBe(true);
    const begun = await store().getHead(h.id);
    expect(begun?.lease).toEqual(lease("a"));
    expect(begun?.intent).toEqual(first);
    expect(begun?.rev).toBe(h.rev + 1);
    // Someone else's live lease, then the same owner with its own intent still open.
    expect(await store().beginEdit(h.id, lease("b"), intent({ leaseOwner: "b" }), NOW)).toBe(false);
    expect(await store().beginEdit(h.id, lease("a"), intent({ leaseOwner: "a" }), NOW)).toBe(false);
    // Unknown is unsettled too, even once the lease expired.
    expect(await store().updateIntent(h.id, first.intentId, { state: "unknown" })).toBe(true);
    expect(await store().beginEdit(h.id, lease("b"), intent(), NOW + 120_000)).toBe(false);
    // Applied is settled: an expired lease and an applied intent let the next edit begin.
    expect(await store().updateIntent(h.id, first.intentId, { state: "applied" })).toBe(true);
    const next = intent({ leaseOwner: "b" });
    expect(await store().beginEdit(h.id, lease("b", NOW + 200_000), next, NOW + 120_000)).toBe(true);
    expect((await store().getHead(h.id))?.intent).toEqual(next);
  });

  it("lets one of many concurrent edits begin", async () => {
    const h = await created(store());
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store().beginEdit(h.id, lease(`o${i}`), intent({ leaseOwner: `o${i}` }), NOW),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("records an intent under a held lease (the slow path)", async () => {
    const h = await created(store());
    await store().acquireLease(h.id, lease("a"), NOW);
    const i = intent({ leaseOwner: "a" });
    expect(await store().putIntent(h.id, i)).toBe(true);
    const after = await store().getHead(h.id);
    expect(after?.intent).toEqual(i);
    expect(after?.lease).toEqual(lease("a"));
  });

  it("refuses an intent whose editor no longer holds the lease", async () => {
    const h = await created(store());
    await store().acquireLease(h.id, lease("b"), NOW);
    expect(await store().putIntent(h.id, intent({ leaseOwner: "a" }))).toBe(false);
    expect((await store().getHead(h.id))?.intent).toBeUndefined();
  });

  it("changes an intent only while it is still the same one (and in the given state)", async () => {
    const h = await created(store());
    const i = intent();
    await store().beginEdit(h.id, lease("owner-a"), i, NOW);
    expect(await store().updateIntent(h.id, "other", { state: "unknown" })).toBe(false);
    expect(await store().updateIntent(h.id, i.intentId, { state: "applied" }, "unknown")).toBe(false);
    expect(
      await store().updateIntent(h.id, i.intentId, { state: "unknown", deadline: NOW + 10_000 }, "open"),
    ).toBe(true);
    expect((await store().getHead(h.id))?.intent).toEqual({ ...i, state: "unknown", deadline: NOW + 10_000 });
    const confirmedAt = "2026-01-01T00:10:01.000Z";
    expect(await store().updateIntent(h.id, i.intentId, { confirmedAt })).toBe(true);
    expect((await store().getHead(h.id))?.intent).toEqual({
      ...i,
      state: "unknown",
      deadline: NOW + 10_000,
      confirmedAt,
    });
    expect(await store().updateIntent(head("absent-app", 1).id, i.intentId, { state: "applied" })).toBe(
      false,
    );
  });

  it("removes an intent unless it was applied (or even then, when asked); false when kept or gone", async () => {
    const h = await created(store());
    const i = intent();
    await store().beginEdit(h.id, lease("owner-a"), i, NOW);
    expect(await store().deleteIntent(h.id, "other")).toBe(false);
    expect(await store().deleteIntent(h.id, i.intentId)).toBe(true);
    expect((await store().getHead(h.id))?.intent).toBeUndefined();
    expect((await store().getHead(h.id))?.lease).toEqual(lease("owner-a"));
    expect(await store().deleteIntent(h.id, i.intentId)).toBe(false);

    const applied = intent({ state: "applied" });
    await store().putIntent(h.id, applied);
    expect(await store().deleteIntent(h.id, applied.intentId)).toBe(false);
    expect((await store().getHead(h.id))?.intent).toEqual(applied);
    expect(await store().deleteIntent(h.id, applied.intentId, { evenIfApplied: true })).toBe(true);
    expect((await store().getHead(h.id))?.intent).toBeUndefined();
  });

  it("commits an edit: the head shows the version, the intent is applied until echoUntil, the lease is free", async () => {
    const h = await created(store());
    const i = intent();
    await store().beginEdit(h.id, lease("owner-a"), i, NOW);
    const commit = commitOf(i.intentId);
    expect(await store().putVersion(h.id, commit.version)).toBe(true);
    const committed = await store().commitEdit(h.id, commit);
    const expected: MessageHead = {
      ...h,
      version: 2,
      content: commit.version.content,
      contentHash: commit.version.contentHash,
      eventAt: commit.eventAt,
      updatedAt: commit.updatedAt,
      rev: h.rev + 2,
      intent: { ...i, state: "applied", deadline: commit.echoUntil },
    };
    expect(committed).toEqual(expected);
    expect(await store().getHead(h.id)).toEqual(expected);
    expect((await store().recentVersions(h.id, 5)).map((v) => v.version)).toEqual([2, 1]);
    // Committed once: the same commit again finds its conditions gone.
    expect(await store().commitEdit(h.id, commit)).toBeUndefined();
  });

  it("commits nothing when the owner, the intent or the head's version is not the expected one", async () => {
    const h = await created(store());
    const i = intent();
    await store().beginEdit(h.id, lease("owner-a"), i, NOW);
    const before = await store().getHead(h.id);
    expect(await store().commitEdit(h.id, commitOf(i.intentId, "owner-b"))).toBeUndefined();
    expect(await store().commitEdit(h.id, commitOf("other-intent"))).toBeUndefined();
    expect(await store().commitEdit(h.id, commitOf(i.intentId, "owner-a", 3))).toBeUndefined();
    expect(await store().commitEdit(head("absent-app", 1).id, commitOf(i.intentId))).toBeUndefined();
    expect(await store().getHead(h.id)).toEqual(before);
  });

  it("moves rev on every partial write, so a whole-head write from an older read fails", async () => {
    const h = await created(store());
    const i = intent({ leaseOwner: "a" });
    const commit = commitOf(i.intentId, "a");
    // [what, the write, whether it writes the head]; each must apply (true, a head, or void).
    const writes: [string, () => Promise<unknown>, boolean][] = [
      ["acquireLease", () => store().acquireLease(h.id, lease("a"), NOW), true],
      ["extendLease", () => store().extendLease(h.id, lease("a", NOW + 70_000)), true],
      ["releaseLease", () => store().releaseLease(h.id, "a"), true],
      ["beginEdit", () => store().beginEdit(h.id, lease("a"), i, NOW), true],
      ["updateIntent", () => store().updateIntent(h.id, i.intentId, { state: "unknown" }), true],
      ["deleteIntent", () => store().deleteIntent(h.id, i.intentId), true],
      ["putIntent", () => store().putIntent(h.id, i), true],
      ["putVersion", () => store().putVersion(h.id, commit.version), false],
      ["commitEdit", () => store().commitEdit(h.id, commit), true],
      [
        "replaceVersion(1)",
        () => store().replaceVersion(h.id, { ...(h.first as Version), stale: true }),
        true,
      ],
    ];
    for (const [name, write, writesHead] of writes) {
      const before = (await store().getHead(h.id)) as MessageHead;
      const result = await write();
      expect(result === false || (name === "commitEdit" && result === undefined), name).toBe(false);
      const after = (await store().getHead(h.id)) as MessageHead;
      expect(after.rev, name).toBe(writesHead ? before.rev + 1 : before.rev);
      if (writesHead) {
        expect(await store().putHead({ ...before, rev: before.rev + 1 }, before.rev), name).toBe(false);
      }
    }
    const final = (await store().getHead(h.id)) as MessageHead;
    expect(final.rev).toBe(h.rev + writes.filter(([, , writesHead]) => writesHead).length);
    expect(final.version).toBe(2);
    expect(final.first?.stale).toBe(true);
  });
}
