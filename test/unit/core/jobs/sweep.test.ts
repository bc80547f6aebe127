import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../../functions/adapters/sqlite/store.ts";
import { DEFAULT_EDIT_OPTIONS } from "../../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../../functions/core/edits.ts";
import { DEFAULT_JOB_OPTIONS } from "../../../../functions/core/jobs/context.ts";
import { newJobId } from "../../../../functions/core/jobs/ids.ts";
import type { Job, JobStatus } from "../../../../functions/core/jobs/model.ts";
import { jobRules } from "../../../../functions/core/jobs/rules.ts";
import { RUN_JOB } from "../../../../functions/core/jobs/runner.ts";
import { JobService, SWEEP_GRACE_MS } from "../../../../functions/core/jobs/service.ts";
import { type Content, messageId, type ProviderName } from "../../../../functions/core/model.ts";
import type { ProviderEditor } from "../../../../functions/core/provider.ts";
import { MessageQueries } from "../../../../functions/core/queries.ts";
import { RuleSet } from "../../../../functions/core/rules/engine.ts";
import type { WorkQueue, WorkTask } from "../../../../functions/core/work.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";
import { manualClock } from "../../../helpers/clock.ts";
import { countingStore } from "../../../helpers/counting-store.ts";
import { c2cHead } from "../../../helpers/heads.ts";
import { scriptedEditor } from "../../../helpers/scripted-editor.ts";
import { tencentProvider } from "../../../helpers/tencent.ts";

const STALE_MS = DEFAULT_JOB_OPTIONS.staleMs;
const iso = (ms: number) => new Date(ms).toISOString();

/** A work queue that keeps what is queued (the test decides when, and whether, a task runs). */
function recordingQueue(): WorkQueue & { tasks: WorkTask[] } {
  const tasks: WorkTask[] = [];
  return {
    tasks,
    enqueue: async (task) => {
      tasks.push(task);
    },
  };
}

/**
 * The sweep (`sweepJobs`, a schedule in AWS) on the embedded store: a job whose runner's heartbeat is
 * stale gets a `runJob` task at once, a live one none, a task already on its way is waited for, and with
 * no active job it costs one store call.
 */
describe("job sweep", () => {
  let sqlite: SqliteStore;
  let counting: ReturnType<typeof countingStore<SqliteStore>>;
  let work: ReturnType<typeof recordingQueue>;
  let clock: ReturnType<typeof manualClock>;
  let editor: ReturnType<typeof scriptedEditor>;
  let jobs: JobService;

  beforeEach(() => {
    sqlite = new SqliteStore({ path: ":memory:" });
    counting = countingStore(sqlite);
    work = recordingQueue();
    clock = manualClock();
    editor = scriptedEditor();
    const store = counting.store;
    const queries = new MessageQueries(store, new Map([["tencent", tencentProvider()]]));
    const editors = new Map<ProviderName, ProviderEditor>([["tencent", editor]]);
    jobs = new JobService({
      store,
      queries,
      edits: new EditService(store, editors, queries, DEFAULT_EDIT_OPTIONS),
      editors,
      codecOf: () => tencentCodec,
      rules: jobRules({ current: () => RuleSet.EMPTY }),
      work,
      clock,
      options: DEFAULT_JOB_OPTIONS,
    });
  });
  afterEach(() => {
    sqlite.close();
  });

  /** A job as its last writer left it: `updatedAt` `ageMs` ago, a runner whose heartbeat ends at `until`. */
  async function stored(status: JobStatus, ageMs: number, until?: number): Promise<Job> {
    const now = clock.now();
    const job: Job = {
      id: newJobId(now),
      kind: "edit",
      status,
      dryRun: false,
      selector: { provider: "tencent", appId: "1400000000", sender: "alice" },
      work: { edit: { CloudCustomData: "swept" } },
      actor: "t",
      counts: { matched: 0, done: 0, failed: 0, skipped: 0 },
      ...(until !== undefined ? { runner: { owner: "run_elsewhere", until } } : {}),
      createdAt: iso(now - ageMs),
      updatedAt: iso(now - ageMs),
      rev: 3,
    };
    expect(await sqlite.createJob(job)).toBe(true);
    return job;
  }

  /** A runner's own last heartbeat `ageMs` ago (it stamps `updatedAt` and holds the job STALE_MS more). */
  const heartbeat = (status: JobStatus, ageMs: number) =>
    stored(status, ageMs, clock.now() - ageMs + STALE_MS);

  const queuedIds = () => work.tasks.map((task) => (task.action === RUN_JOB ? task.jobId : task.action));

  it("costs one store call and queues nothing when no job is active", async () => {
    // Prepare: finished and cancelled jobs are not active, whatever their runner says
    await stored("done", 60_000);
    await stored("cancelled", 60_000, clock.now() - 1_000);
    await stored("failed", 600_000);
    counting.reset();
    // Act
    const resumed = await jobs.sweep();
    // Assess
    expect(resumed).toEqual([]);
    expect(Object.fromEntries(counting.calls)).toEqual({ activeJobs: 1 });
    expect(work.tasks).toEqual([]);
  });

  it("queues runJob for a job whose runner's heartbeat is stale, not for a live one", async () => {
    // Prepare: one runner died 15 s ago (stale 5 s ago), one wrote its heartbeat 1 s ago
    const dead = await heartbeat("running", STALE_MS + 5_000);
    const live = await heartbeat("running", 1_000);
    counting.reset();
    // Act
    const resumed = await jobs.sweep();
    // Assess: the stale one queued (and touched, under its rev), the live one untouched
    expect(resumed).toEqual([dead.id]);
    expect(queuedIds()).toEqual([dead.id]);
    expect(Object.fromEntries(counting.calls)).toEqual({ activeJobs: 1, putJob: 1 });
    const after = await sqlite.getJob(dead.id);
    expect(after).toMatchObject({ status: "running", runner: dead.runner, rev: dead.rev + 1 });
    expect(after?.updatedAt).toBe(iso(clock.now()));
    expect(await sqlite.getJob(live.id)).toEqual(live);
  });

  it("waits for the task it queued: no duplicate on the next sweeps, another after the grace period", async () => {
    // Prepare
    const dead = await heartbeat("running", STALE_MS + 1);
    expect(await jobs.sweep()).toEqual([dead.id]);
    // Act: the worker has not taken the task yet (busy, throttled) for a few sweeps, then for too long
    const early: string[][] = [];
    for (let minute = 1; minute * 60_000 < SWEEP_GRACE_MS; minute++) {
      clock.advance(60_000);
      early.push(await jobs.sweep());
    }
    clock.advance(SWEEP_GRACE_MS - early.length * 60_000 + 1);
    const late = await jobs.sweep();
    // Assess
    expect(early.flat()).toEqual([]);
    expect(late).toEqual([dead.id]);
    expect(queuedIds()).toEqual([dead.id, dead.id]);
  });

  it("queues a job with no runner only once its task is overdue (queued, between slices, resumed)", async () => {
    // Prepare: a job just created and one between slices whose next task has waited 10 s: both on their
    // way; a queued job whose task was lost 6 minutes ago; a resumed one (stale runner, touched since)
    const fresh = await stored("queued", 1_000);
    const betweenSlices = await stored("running", 10_000);
    const lost = await stored("queued", SWEEP_GRACE_MS + 60_000);
    const resumed = await stored("queued", 20_000, clock.now() - 30_000);
    // Act
    const swept = await jobs.sweep();
    // Assess
    expect(swept).toEqual([lost.id]);
    expect(queuedIds()).toEqual([lost.id]);
    for (const job of [fresh, betweenSlices, resumed]) expect(await sqlite.getJob(job.id)).toEqual(job);
  });

  it("leaves a job a runner claimed since the read to that runner (no task queued)", async () => {
    // Prepare: the sweep reads a stale job, then a runner claims it before the sweep touches it
    const dead = await heartbeat("running", STALE_MS + 1);
    const snapshot = await sqlite.activeJobs();
    const claimed: Job = {
      ...dead,
      runner: { owner: "run_new", until: clock.now() + STALE_MS },
      updatedAt: iso(clock.now()),
      rev: dead.rev + 1,
    };
    expect(await sqlite.putJob(claimed, dead.rev)).toBe(true);
    const racing = new Proxy(counting.store, {
      get: (target, property, receiver) =>
        property === "activeJobs" ? async () => snapshot : Reflect.get(target, property, receiver),
    });
    const swept = new JobService({
      store: racing,
      queries: new MessageQueries(racing, new Map([["tencent", tencentProvider()]])),
      edits: new EditService(racing, new Map([["tencent", editor]]), new MessageQueries(racing, new Map())),
      editors: new Map([["tencent", editor]]),
      codecOf: () => tencentCodec,
      rules: jobRules({ current: () => RuleSet.EMPTY }),
      work,
      clock,
      options: DEFAULT_JOB_OPTIONS,
    });
    // Act
    const resumed = await swept.sweep();
    // Assess
    expect(resumed).toEqual([]);
    expect(work.tasks).toEqual([]);
    expect(await sqlite.getJob(dead.id)).toEqual(claimed);
  });

  it("the task it queues takes the job over from its checkpoint: every message edited once", async () => {
    // Prepare: 6 messages; a job whose runner died before its first checkpoint
    const content: Content = { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi" } }] };
    for (let i = 0; i < 6; i++) {
      await sqlite.createHead(
        c2cHead(content, {
          id: messageId("c2c", ["sweep", String(i)]),
          sender: "alice",
          createdAt: iso(Date.UTC(2026, 4, 1, 0, 0, i)),
        }),
      );
    }
    const dead = await heartbeat("running", STALE_MS + 1);
    // Act: the sweep queues it; the worker runs the task
    expect(await jobs.sweep()).toEqual([dead.id]);
    const [task] = work.tasks;
    await jobs.run(String(task?.jobId));
    // Assess
    const done = await jobs.get(dead.id);
    expect(done).toMatchObject({ status: "done", counts: { matched: 6, done: 6, failed: 0, skipped: 0 } });
    expect(editor.modifies).toHaveLength(6);
    expect(await jobs.sweep()).toEqual([]);
  });
});
