import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../../functions/adapters/sqlite/store.ts";
import { InProcessWorkQueue } from "../../../../functions/adapters/work/in-process.ts";
import { DEFAULT_EDIT_OPTIONS } from "../../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../../functions/core/edits.ts";
import {
  BadRequestError,
  ProviderUnavailableError,
  TooManyRequestsError,
} from "../../../../functions/core/errors.ts";
import { DEFAULT_JOB_OPTIONS, type JobOptions } from "../../../../functions/core/jobs/context.ts";
import type { Job } from "../../../../functions/core/jobs/model.ts";
import { jobRules } from "../../../../functions/core/jobs/rules.ts";
import { RUN_JOB } from "../../../../functions/core/jobs/runner.ts";
import { JobService } from "../../../../functions/core/jobs/service.ts";
import { systemClock } from "../../../../functions/core/limiter.ts";
import { type Content, messageId, type ProviderName } from "../../../../functions/core/model.ts";
import type { ProviderEditor } from "../../../../functions/core/provider.ts";
import { MessageQueries } from "../../../../functions/core/queries.ts";
import { RuleSet } from "../../../../functions/core/rules/engine.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";
import { c2cHead } from "../../../helpers/heads.ts";
import { scriptedEditor } from "../../../helpers/scripted-editor.ts";
import { tencentProvider } from "../../../helpers/tencent.ts";

const text = (value: string): Content => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }],
});

/**
 * The job runner on the embedded store and the real edit protocol, with a scripted provider editor:
 * slices that queue the rest, busy messages retried after the last page, rate refusals waited out.
 */
describe("job runner", () => {
  let store: SqliteStore;
  let work: InProcessWorkQueue;
  let runs: number;

  beforeEach(() => {
    store = new SqliteStore({ path: ":memory:" });
    work = new InProcessWorkQueue();
    runs = 0;
  });
  afterEach(async () => {
    await work.close();
    store.close();
  });

  function service(editor: ProviderEditor, options: Partial<JobOptions> = {}, waitBudgetMs = 5_000) {
    const queries = new MessageQueries(store, new Map([["tencent", tencentProvider()]]));
    const editors = new Map<ProviderName, ProviderEditor>([["tencent", editor]]);
    const jobs = new JobService({
      store,
      queries,
      edits: new EditService(store, editors, queries, { ...DEFAULT_EDIT_OPTIONS, waitBudgetMs }),
      editors,
      codecOf: () => tencentCodec,
      rules: jobRules({ current: () => RuleSet.EMPTY }),
      work,
      clock: systemClock,
      options: { ...DEFAULT_JOB_OPTIONS, ...options },
    });
    work.register(RUN_JOB, async (task) => {
      runs++;
      await jobs.run(String(task.jobId));
    });
    return jobs;
  }

  async function seed(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = messageId("c2c", ["runner", String(i)]);
      await store.createHead(
        c2cHead(text(`message ${i}`), {
          id,
          sender: "alice",
          createdAt: new Date(Date.UTC(2026, 5, 1, 0, 0, i)).toISOString(),
        }),
      );
      ids.push(id);
    }
    return ids;
  }

  async function finished(jobs: JobService, id: string, timeoutMs = 10_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await jobs.get(id);
      if (["done", "failed", "cancelled"].includes(job.status) || Date.now() > deadline) return job;
      await systemClock.sleep(20);
    }
  }

  const selector = { provider: "tencent" as const, appId: "1400000000", sender: "alice" };

  it("runs in slices that checkpoint and queue the rest; every message once", async () => {
    // Prepare: 10 ms per call, 30 ms slices, pages of 4
    const editor = scriptedEditor({ modify: () => systemClock.sleep(10) });
    const jobs = service(editor, { sliceMs: 30, pageSize: 4, concurrency: 2 });
    const ids = await seed(24);
    // Act
    const job = await jobs.createEdit({
      selector,
      work: { edit: { CloudCustomData: "x" } },
      dryRun: false,
      actor: "t",
    });
    const done = await finished(jobs, job.id);
    // Assess
    expect(done.counts).toEqual({ matched: 24, done: 24, failed: 0, skipped: 0 });
    expect(runs).toBeGreaterThan(1);
    expect(editor.modifies).toHaveLength(24);
    for (const id of ids) {
      const versions = await store.recentVersions(id, 5);
      expect(versions.filter((version) => version.jobId === job.id)).toHaveLength(1);
    }
    expect(done.runner).toBeUndefined();
  });

  it("waits out rate refusals instead of failing the message", async () => {
    // Prepare: the first three calls are refused as the limiter does when interactive edits took the rate
    let refusals = 3;
    const editor = scriptedEditor({
      modify: async () => {
        if (refusals-- > 0) throw new TooManyRequestsError("busy", { retryAfter: 0.02 });
      },
    });
    const jobs = service(editor);
    await seed(5);
    // Act
    const job = await jobs.createEdit({
      selector,
      work: { edit: { CloudCustomData: "y" } },
      dryRun: false,
      actor: "t",
    });
    const done = await finished(jobs, job.id);
    // Assess
    expect(done.counts).toEqual({ matched: 5, done: 5, failed: 0, skipped: 0 });
    expect(editor.modifies).toHaveLength(8);
  });

  it("puts a busy message aside and edits it after the last page", async () => {
    // Prepare: someone holds one message's lease for 1.2 s; edits wait 100 ms for a lease
    const editor = scriptedEditor();
    const jobs = service(editor, { pageSize: 2 }, 100);
    const ids = await seed(6);
    const busy = ids[1] as string;
    expect(await store.acquireLease(busy, { owner: "someone", until: Date.now() + 1_200 }, Date.now())).toBe(
      true,
    );
    // Act
    const job = await jobs.createEdit({
      selector,
      work: { edit: { CloudCustomData: "z" } },
      dryRun: false,
      actor: "t",
    });
    const done = await finished(jobs, job.id);
    // Assess
    expect(done.counts).toEqual({ matched: 6, done: 6, failed: 0, skipped: 0 });
    expect((await store.getHead(busy))?.version).toBe(2);
  });
});

describe("job runner, pages redone after a stop", () => {
  let store: SqliteStore;
  let work: InProcessWorkQueue;

  beforeEach(() => {
    store = new SqliteStore({ path: ":memory:" });
    work = new InProcessWorkQueue();
  });
  afterEach(async () => {
    await work.close();
    store.close();
  });

  it("recognizes this job's edits on every page that was in progress, not only the first", async () => {
    // Prepare: the newest message (first of page 1) is refused by the rate while the other workers go on
    // into pages 2 and 3; the action is not idempotent ("message" -> "message!"), so a message edited
    // twice by the job would show it
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = messageId("c2c", ["redo", String(i)]);
      await store.createHead(
        c2cHead(text(`message ${i}`), {
          id,
          sender: "alice",
          createdAt: new Date(Date.UTC(2026, 5, 1, 0, 0, i)).toISOString(),
        }),
      );
      ids.push(id);
    }
    const stuck = ids[11] as string;
    let refuse = true;
    const base = scriptedEditor();
    const editor: ProviderEditor = {
      ...base,
      modify: async (head, send, deadline) => {
        if (head.id === stuck && refuse) throw new TooManyRequestsError("busy", { retryAfter: 0.05 });
        return base.modify(head, send, deadline);
      },
    };
    const queries = new MessageQueries(store, new Map([["tencent", tencentProvider()]]));
    const editors = new Map<ProviderName, ProviderEditor>([["tencent", editor]]);
    const edits = new EditService(store, editors, queries, DEFAULT_EDIT_OPTIONS);
    const jobs = new JobService({
      store,
      queries,
      edits,
      editors,
      codecOf: () => tencentCodec,
      rules: jobRules({ current: () => RuleSet.EMPTY }),
      work,
      clock: systemClock,
      options: { ...DEFAULT_JOB_OPTIONS, pageSize: 4, concurrency: 2 },
    });
    work.register(RUN_JOB, async (task) => {
      await jobs.run(String(task.jobId));
    });
    const job = await jobs.createEdit({
      selector: { provider: "tencent", appId: "1400000000", sender: "alice" },
      work: { action: { replace: { pattern: "message", with: "message!" } } },
      dryRun: false,
      actor: "t",
    });
    const deadline = Date.now() + 5_000;
    while (base.modifies.length < 7 && Date.now() < deadline) await systemClock.sleep(5);
    // Act: cancel while page 1 is held open by its refused message, then resume once it is accepted
    await jobs.cancel(job.id);
    refuse = false;
    // Someone edits a message of page 2 meanwhile: the job's own intent is no longer on its head
    await edits.apply(ids[6] as string, (head) => ({ ...head.content, CloudCustomData: "other" }), {
      actor: "someone",
    });
    await jobs.resume(job.id);
    let final = await jobs.get(job.id);
    while (!["done", "failed"].includes(final.status) && Date.now() < deadline + 5_000) {
      await systemClock.sleep(20);
      final = await jobs.get(job.id);
    }
    // Assess: one version per message by the job, one modify per message (and the other edit), all done
    for (const id of ids) {
      const versions = await store.recentVersions(id, 5);
      expect(versions.filter((version) => version.jobId === job.id)).toHaveLength(1);
    }
    expect(base.modifies).toHaveLength(13);
    expect(final.counts).toEqual({ matched: 12, done: 12, failed: 0, skipped: 0 });
  });
});

describe("job runner, job items bounded", () => {
  let store: SqliteStore;
  let work: InProcessWorkQueue;

  beforeEach(() => {
    store = new SqliteStore({ path: ":memory:" });
    work = new InProcessWorkQueue();
  });
  afterEach(async () => {
    await work.close();
    store.close();
  });

  function jobsOn(editor: ProviderEditor, options: Partial<JobOptions> = {}) {
    const queries = new MessageQueries(store, new Map([["tencent", tencentProvider()]]));
    const editors = new Map<ProviderName, ProviderEditor>([["tencent", editor]]);
    const jobs = new JobService({
      store,
      queries,
      edits: new EditService(store, editors, queries, { ...DEFAULT_EDIT_OPTIONS, waitBudgetMs: 200 }),
      editors,
      codecOf: () => tencentCodec,
      rules: jobRules({ current: () => RuleSet.EMPTY }),
      work,
      clock: systemClock,
      options: { ...DEFAULT_JOB_OPTIONS, ...options },
    });
    work.register(RUN_JOB, async (task) => {
      await jobs.run(String(task.jobId));
    });
    return jobs;
  }

  async function settled(jobs: JobService, id: string): Promise<Job> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const job = await jobs.get(id);
      if (["done", "failed", "cancelled"].includes(job.status) || Date.now() > deadline) return job;
      await systemClock.sleep(20);
    }
  }

  it("cuts a dry run's preview by UTF-8 bytes: 100 long Chinese messages stay far from 400 KB", async () => {
    // Prepare: 600 CJK characters of text and about 900 of custom data (3 bytes each in UTF-8)
    const long = "改".repeat(600);
    const data = JSON.stringify({ translation: "译".repeat(900) });
    await store.createHead(
      c2cHead({ ...text(long), CloudCustomData: data }, { id: messageId("c2c", ["cjk"]), sender: "alice" }),
    );
    const jobs = jobsOn(scriptedEditor());
    // Act
    const job = await jobs.createEdit({
      selector: { provider: "tencent", appId: "1400000000", sender: "alice" },
      work: { action: { replace: { pattern: "改", with: "变" } } },
      dryRun: true,
      actor: "t",
    });
    const done = await settled(jobs, job.id);
    // Assess: one item at most 2 KB of UTF-8, so a full preview (100) stays under 200 KB
    expect(done.preview).toHaveLength(1);
    expect(Buffer.byteLength(JSON.stringify(done.preview?.[0]))).toBeLessThanOrEqual(2_048);
  });

  it("keeps at most laterLimit busy messages in the job item; the rest are retried in place", async () => {
    // Prepare: the provider is down for 1.5 s (every modify refused as unavailable), 8 messages
    const downUntil = Date.now() + 1_500;
    const editor = scriptedEditor({
      modify: async () => {
        if (Date.now() < downUntil) throw new ProviderUnavailableError("down", { retryAfter: 1 });
      },
    });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = messageId("c2c", ["later", String(i)]);
      await store.createHead(c2cHead(text(`message ${i}`), { id, sender: "alice" }));
      ids.push(id);
    }
    const jobs = jobsOn(editor, { laterLimit: 2, pageSize: 2, concurrency: 1 });
    // Act
    const job = await jobs.createEdit({
      selector: { provider: "tencent", appId: "1400000000", sender: "alice" },
      work: { edit: { CloudCustomData: "x" } },
      dryRun: false,
      actor: "t",
    });
    let most = 0;
    let current = await jobs.get(job.id);
    const deadline = Date.now() + 15_000;
    while (!["done", "failed", "cancelled"].includes(current.status) && Date.now() < deadline) {
      const later = (JSON.parse(current.cursor ?? "{}") as { later?: string[] }).later ?? [];
      most = Math.max(most, later.length);
      await systemClock.sleep(5);
      current = await jobs.get(job.id);
    }
    // Assess
    expect(most).toBeLessThanOrEqual(2);
    expect(current.counts).toEqual({ matched: 8, done: 8, failed: 0, skipped: 0 });
    for (const id of ids) {
      const versions = await store.recentVersions(id, 5);
      expect(versions.filter((version) => version.jobId === job.id)).toHaveLength(1);
    }
  }, 20_000);

  it("refuses a page token it did not issue as a 400 (invalid_next_token), not an internal error", async () => {
    // Prepare
    const jobs = jobsOn(scriptedEditor());
    // Act
    const listing = jobs.list({ limit: 10, nextToken: "garbage" });
    // Assess
    await expect(listing).rejects.toBeInstanceOf(BadRequestError);
    await expect(jobs.list({ limit: 10, nextToken: "eyJhIjoxfQ" })).rejects.toMatchObject({
      code: "invalid_next_token",
    });
  });

  it("refuses a selector for an app the provider's editor does not serve (400, no job)", async () => {
    // Prepare
    const jobs = jobsOn(scriptedEditor());
    // Act
    const creating = jobs.createEdit({
      selector: { provider: "tencent", appId: "999" },
      work: { edit: { CloudCustomData: "x" } },
      dryRun: false,
      actor: "t",
    });
    // Assess
    await expect(creating).rejects.toMatchObject({ code: "provider_not_configured" });
    expect((await jobs.list({ limit: 10 })).items).toHaveLength(0);
  });
});
