import { expect, it } from "vitest";
import { newJobId } from "../../functions/core/jobs/ids.ts";
import type { Job } from "../../functions/core/jobs/model.ts";
import { InvalidPageTokenError, type Store } from "../../functions/core/store.ts";
import { collect, created, NOW, version } from "./fixtures.ts";

/** A job with every field set (preview, cursor, runner, error…), so a round trip shows nothing is lost. */
export function fullJob(overrides: Partial<Job> = {}): Job {
  const at = new Date(NOW).toISOString();
  return {
    id: newJobId(NOW),
    kind: "edit",
    status: "running",
    dryRun: true,
    selector: {
      provider: "tencent",
      appId: "1400000001",
      conversation: "c2c:alice:bob",
      sender: "alice",
      since: "2026-01-01T00:00:00.000Z",
      until: "2026-01-02T00:00:00.000Z",
      text: "1[3-9]\\d{9}",
    },
    work: { action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } } },
    actor: "api:operator",
    counts: { matched: 12, done: 0, failed: 1, skipped: 3 },
    cursor: "eyJwIjoiMjAyNi0wMS0wMVQwMDowMDowMC4wMDBaIn0",
    preview: [
      {
        id: "c2c_abc",
        before: { text: "call 13812345678", customData: "" },
        after: { text: "call ***", customData: "" },
      },
      { id: "c2c_def", before: { text: "", nested: { list: [1, "two", null, true] } }, after: {} },
    ],
    runner: { owner: "runner-1", until: NOW + 30_000 },
    error: "provider_unavailable",
    ratePerSec: 179.5,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    rev: 0,
    ...overrides,
  };
}

/** A minimal queued job (optional fields absent). */
export function queuedJob(overrides: Partial<Job> = {}): Job {
  const at = new Date(NOW).toISOString();
  return {
    id: newJobId(NOW),
    kind: "reconcile",
    status: "queued",
    dryRun: false,
    reconcile: {
      provider: "netease",
      appId: "app-key",
      pair: ["alice", "bob"],
      since: "2026-01-01T00:00:00.000Z",
      until: "2026-01-02T00:00:00.000Z",
    },
    actor: "api:operator",
    counts: { matched: 0, done: 0, failed: 0, skipped: 0 },
    createdAt: at,
    updatedAt: at,
    rev: 0,
    ...overrides,
  };
}

/**
 * Bulk jobs (`JobStore`): create/get round trips, revisions, listing newest first with paging, the
 * active set. Listing and the active set see every job in a store, so those cases take a fresh one.
 */
export function jobCases(store: () => Store, fresh: () => Promise<Store>): void {
  it("creates a job once and reads every field back", async () => {
    const job = fullJob();
    expect(await store().createJob(job)).toBe(true);
    expect(await store().getJob(job.id)).toEqual(job);
    expect(await store().createJob({ ...job, status: "queued", actor: "someone else" })).toBe(false);
    expect(await store().getJob(job.id)).toEqual(job);

    const minimal = queuedJob();
    expect(await store().createJob(minimal)).toBe(true);
    expect(await store().getJob(minimal.id)).toEqual(minimal);
  });

  it("answers undefined for an unknown job, malformed or not", async () => {
    expect(await store().getJob(newJobId(NOW))).toBeUndefined();
    expect(await store().getJob("not-a-job")).toBeUndefined();
    expect(await store().getJob("")).toBeUndefined();
    expect(await store().getJob("x".repeat(2_000))).toBeUndefined();
  });

  it("writes a job only at the expected rev, and the stored job carries the next one", async () => {
    const job = queuedJob();
    await store().createJob(job);
    const running = { ...job, status: "running" as const, rev: 1, runner: { owner: "r", until: NOW + 1 } };
    expect(await store().putJob(running, 1)).toBe(false);
    expect(await store().getJob(job.id)).toEqual(job);
    expect(await store().putJob(running, 0)).toBe(true);
    expect(await store().getJob(job.id)).toEqual(running);
    // Stale: someone holding rev 0 writes again.
    expect(await store().putJob({ ...job, status: "cancelled", rev: 1 }, 0)).toBe(false);
    const { runner: _, ...done } = { ...running, status: "done" as const, rev: 2 };
    expect(await store().putJob(done, 1)).toBe(true);
    expect(await store().getJob(job.id)).toEqual(done);
    // A put never creates a job.
    expect(await store().putJob(queuedJob(), 0)).toBe(false);
  });

  it("lets exactly one of two writers holding the same rev win", async () => {
    const job = queuedJob();
    await store().createJob(job);
    const writers = Array.from({ length: 8 }, (_, i) => ({
      ...job,
      status: "running" as const,
      runner: { owner: `runner-${i}`, until: NOW + i },
      rev: 1,
    }));
    const results = await Promise.all(writers.map((writer) => store().putJob(writer, 0)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = writers[results.indexOf(true)];
    expect(await store().getJob(job.id)).toEqual(winner);
  });

  it("lists jobs newest first, page by page, and refuses a token it did not issue", async () => {
    const own = await fresh();
    expect(await own.listJobs({ limit: 10 })).toEqual({ items: [] });
    const jobs: Job[] = [];
    for (let i = 0; i < 7; i++) {
      const job = i % 2 === 0 ? queuedJob({ id: newJobId(NOW + i) }) : fullJob({ id: newJobId(NOW + i) });
      jobs.push(job);
      expect(await own.createJob(job)).toBe(true);
    }
    // Two in the same millisecond still list in creation order.
    const sameMs = [queuedJob({ id: newJobId(NOW + 7) }), queuedJob({ id: newJobId(NOW + 7) })];
    for (const job of sameMs) await own.createJob(job);
    jobs.push(...sameMs);
    const newestFirst = jobs.map((job) => job.id).reverse();

    const first = await own.listJobs({ limit: 3 });
    expect(first.items).toEqual(jobs.slice(-3).reverse());
    expect(first.nextToken).toBeDefined();
    const { ids, pages } = await collect((token) =>
      own.listJobs({ limit: 3, ...(token !== undefined ? { nextToken: token } : {}) }),
    );
    expect(ids).toEqual(newestFirst);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(pages).toBeLessThanOrEqual(4);
    expect(
      (await collect((token) => own.listJobs({ limit: 100, ...(token ? { nextToken: token } : {}) }))).ids,
    ).toEqual(newestFirst);

    for (const bad of ["garbage", "", "e30", Buffer.from('{"pk":"M#x","sk":"H"}').toString("base64url")]) {
      await expect(own.listJobs({ limit: 3, nextToken: bad })).rejects.toBeInstanceOf(InvalidPageTokenError);
    }
    // A token from another listing (a message's versions) does not continue this one.
    const message = await created(own);
    expect(await own.putVersion(message.id, version(2))).toBe(true);
    const versions = await own.listVersions(message.id, { limit: 1 });
    if (versions.nextToken === undefined) throw new Error("expected a second page of versions");
    await expect(own.listJobs({ limit: 3, nextToken: versions.nextToken })).rejects.toBeInstanceOf(
      InvalidPageTokenError,
    );
  });

  it("returns only queued and running jobs as active", async () => {
    const own = await fresh();
    expect(await own.activeJobs()).toEqual([]);
    const statuses = ["queued", "running", "cancelled", "done", "failed"] as const;
    const jobs = statuses.map((status, i) => fullJob({ id: newJobId(NOW + i), status }));
    for (const job of jobs) await own.createJob(job);
    const active = await own.activeJobs();
    expect(active.map((job) => job.id).sort()).toEqual([jobs[0]?.id, jobs[1]?.id].sort());
    expect(active.find((job) => job.id === jobs[1]?.id)).toEqual(jobs[1]);

    // A job leaves the active set when it finishes and comes back when resumed.
    const running = jobs[1] as Job;
    expect(await own.putJob({ ...running, status: "done", rev: 1 }, 0)).toBe(true);
    expect((await own.activeJobs()).map((job) => job.id)).toEqual([jobs[0]?.id]);
    const cancelled = jobs[2] as Job;
    expect(await own.putJob({ ...cancelled, status: "queued", rev: 1 }, 0)).toBe(true);
    expect((await own.activeJobs()).map((job) => job.id).sort()).toEqual([jobs[0]?.id, cancelled.id].sort());
  });

  it("leaves the active set as it was when a write is refused", async () => {
    const own = await fresh();
    const finished = queuedJob({ id: newJobId(NOW) });
    const active = queuedJob({ id: newJobId(NOW + 1) });
    for (const job of [finished, active]) await own.createJob(job);
    expect(await own.putJob({ ...finished, status: "done", rev: 1 }, 0)).toBe(true);
    expect(await own.putJob({ ...active, status: "running", rev: 1 }, 0)).toBe(true);
    // Stale writers: one would bring the finished job back, the other finish the running one.
    expect(await own.putJob({ ...finished, status: "running", rev: 1 }, 0)).toBe(false);
    expect(await own.putJob({ ...active, status: "failed", rev: 1 }, 0)).toBe(false);
    expect((await own.activeJobs()).map((job) => job.id)).toEqual([active.id]);
    expect((await own.activeJobs()).map((job) => job.id)).toEqual([active.id]);
  });
}
