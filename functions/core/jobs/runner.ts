import { randomUUID } from "node:crypto";
import { AppError, asError, CancelledError, StoreUnavailableError } from "../errors.ts";
import { type Cursor, parseCursor, withoutPartial, ZERO } from "./checkpoint.ts";
import type { JobContext, RunState } from "./context.ts";
import { EditPass } from "./edit-pass.ts";
import type { Job, JobCounts, JobStatus, PreviewItem } from "./model.ts";
import { reconcilePass } from "./reconcile-pass.ts";

/** The work queue action that runs (a slice of) a job: `{ "action": "runJob", "jobId": "job_…" }`. */
export const RUN_JOB = "runJob";

const RATE_WINDOW_MS = 10_000;

/**
 * Runs bulk jobs: one run is a slice of at most `sliceMs`, holding the job through a heartbeat in the job
 * item, checkpointing after every page, and queuing the next slice itself (`runJob` on the work queue: the
 * edit queue in AWS, in-process locally). Every provider call is background work for the limiter
 * (`inBackground`, cancelled through the run's AbortController), so interactive edits keep their share.
 */
export class JobRunner {
  /** Runs in this process, by job id: a cancel answered here aborts them synchronously. */
  private readonly active = new Map<string, JobRun>();

  constructor(private readonly ctx: JobContext) {}

  /** Runs a slice of the job, unless another live runner holds it (then looks again when its heartbeat ends). */
  async run(jobId: string): Promise<void> {
    const { store, clock, options } = this.ctx;
    const job = await store.getJob(jobId);
    if (!job || (job.status !== "queued" && job.status !== "running")) return;
    const now = clock.now();
    if (job.runner && job.runner.until > now) {
      // Alive elsewhere (or a cancelled run still finishing here): look again once its heartbeat would be stale.
      await this.ctx.work.enqueue({ action: RUN_JOB, jobId }, job.runner.until - now + 250);
      return;
    }
    const owner = `run_${randomUUID()}`;
    const claimed: Job = {
      ...job,
      status: "running",
      runner: { owner, until: now + options.staleMs },
      startedAt: job.startedAt ?? iso(now),
      updatedAt: iso(now),
      rev: job.rev + 1,
    };
    if (!(await store.putJob(claimed, job.rev))) return; // another runner claimed it first
    const run = new JobRun(this.ctx, claimed, owner, job.runner !== undefined);
    this.active.set(jobId, run);
    try {
      await run.execute();
    } finally {
      this.active.delete(jobId);
    }
  }

  /** Stops this process's run of the job at once: no provider call starts after this returns. */
  abortLocal(jobId: string): boolean {
    const run = this.active.get(jobId);
    run?.abort("cancelled");
    return run !== undefined;
  }

  /** Whether a run of the job is in progress in this process. */
  isRunningHere(jobId: string): boolean {
    return this.active.has(jobId);
  }

  /**
   * Shutdown: the runs of this process stop (calls in flight finish) and let go of their jobs, which stay
   * running for the next start to take over at once.
   */
  async stop(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) run.abort("shutdown");
    await Promise.allSettled(runs.map((run) => run.finished));
  }
}

type StopReason = "cancelled" | "lost" | "slice" | "shutdown";

/** One run of one job (a slice). */
class JobRun implements RunState {
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  job: Job;
  counts: JobCounts;
  cursor: Cursor;
  readonly preview: PreviewItem[];
  private lastError: string | undefined;
  private readonly processed: number[] = [];
  readonly startedAt: number;
  private writing: Promise<unknown> = Promise.resolve();
  private resolveFinished!: () => void;
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(
    readonly ctx: JobContext,
    claimed: Job,
    private readonly owner: string,
    /** The job was taken over from a runner that stopped without a word: its page is redone with recognition. */
    takenOver: boolean,
  ) {
    this.job = claimed;
    this.startedAt = ctx.clock.now();
    const stored = parseCursor(claimed.cursor);
    this.cursor = stored
      ? { ...stored, ...(takenOver ? { partial: true as const } : {}) }
      : { phase: claimed.kind === "reconcile" ? "reconcile" : "count", base: ZERO };
    // A page is redone from its start: the counts go back to what they were then.
    this.counts = this.cursor.base;
    this.preview = [...(claimed.preview ?? [])];
    this.lastError = claimed.error;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: StopReason): void {
    this.stopReason ??= reason;
    this.controller.abort(new CancelledError(`job ${this.job.id} was ${reason}`));
  }

  async execute(): Promise<void> {
    const { options } = this.ctx;
    const heartbeat = setInterval(() => {
      void this.save(false).catch(() => {});
    }, options.heartbeatMs);
    const poll = setInterval(() => {
      void this.pollJob().catch(() => {});
    }, options.pollMs);
    heartbeat.unref?.();
    poll.unref?.();
    let failure: Error | undefined;
    try {
      if (this.job.kind === "reconcile") await reconcilePass(this);
      else await new EditPass(this).execute();
    } catch (thrown: unknown) {
      if (!this.signal.aborted || !(thrown instanceof CancelledError)) failure = asError(thrown);
    } finally {
      clearInterval(heartbeat);
      clearInterval(poll);
    }
    try {
      await this.finish(failure);
    } finally {
      this.resolveFinished();
    }
    if (this.stopReason === "slice") {
      await this.ctx.work.enqueue({ action: RUN_JOB, jobId: this.job.id });
    }
  }

  /** Whether to stop before the next page: cancelled, lost, or the slice is over (then the rest is queued). */
  shouldStop(): boolean {
    if (this.signal.aborted) return true;
    if (this.ctx.clock.now() - this.startedAt >= this.ctx.options.sliceMs) {
      this.stopReason ??= "slice";
      return true;
    }
    return false;
  }

  count(field: "done" | "failed" | "skipped"): void {
    this.counts = { ...this.counts, [field]: this.counts[field] + 1 };
    this.tick();
  }

  /** A message the provider (or the content's own check) refused: the job keeps the last reason. */
  failed(error: unknown): "failed" {
    this.lastError = describe(error);
    return "failed";
  }

  tick(): void {
    const now = this.ctx.clock.now();
    this.processed.push(now);
    while ((this.processed[0] ?? now) < now - RATE_WINDOW_MS) this.processed.shift();
  }

  /** Messages settled per second over the recent window (since the run started, when shorter). */
  private rate(): number {
    const now = this.ctx.clock.now();
    const span = Math.min(RATE_WINDOW_MS, now - this.startedAt);
    if (span < 500) return 0;
    const recent = this.processed.filter((at) => at >= now - RATE_WINDOW_MS).length;
    return Math.round((recent / span) * 1_000 * 10) / 10;
  }

  async pause(ms: number): Promise<void> {
    if (this.signal.aborted) return;
    await Promise.race([
      this.ctx.clock.sleep(ms),
      new Promise<void>((resolve) => this.signal.addEventListener("abort", () => resolve(), { once: true })),
    ]);
  }

  /** Reads the job: a cancel or a takeover seen there stops this run (another process cancelled it). */
  private async pollJob(): Promise<void> {
    if (this.signal.aborted) return;
    const stored = await this.ctx.store.getJob(this.job.id);
    if (!stored) return this.abort("lost");
    if (stored.status === "cancelled") this.abort("cancelled");
    else if (stored.runner?.owner !== this.owner) this.abort("lost");
  }

  /**
   * Writes progress (counts, checkpoint, rate, preview, heartbeat) under the job's `rev`, re-reading on a
   * conflict. Never overwrites what others decide: a cancel or a resume keeps its status; a job another
   * runner holds is left alone (and this run stops).
   */
  save(final: boolean, failure?: Error): Promise<void> {
    const write = this.writing.then(() => this.write(final, failure));
    this.writing = write.catch(() => {});
    return write;
  }

  private async write(final: boolean, failure?: Error): Promise<void> {
    const { store, clock, options } = this.ctx;
    let current = this.job;
    for (let attempt = 0; attempt < 20; attempt++) {
      if (current.runner?.owner !== this.owner) {
        this.abort("lost");
        return;
      }
      if (current.status === "cancelled") this.abort("cancelled");
      const now = clock.now();
      const partial = this.signal.aborted && this.stopReason !== "slice";
      const cursor: Cursor = partial ? { ...this.cursor, partial: true } : withoutPartial(this.cursor);
      const finished = final && !partial && cursor.phase === "end";
      const rate = this.rate();
      const { runner: _, error: _error, ...rest } = current;
      // A resume while this run goes on changes nothing: it is going on. Only a live run ends a job.
      let status: JobStatus =
        current.status === "queued" && !this.signal.aborted ? "running" : current.status;
      if (status === "running" && failure !== undefined) status = "failed";
      else if (status === "running" && finished) status = "done";
      const next: Job = {
        ...rest,
        status,
        counts: this.counts,
        cursor: JSON.stringify(cursor),
        ...(this.job.dryRun ? { preview: this.preview } : {}),
        ...(failure !== undefined
          ? { error: describe(failure) }
          : this.lastError !== undefined
            ? { error: this.lastError }
            : {}),
        ratePerSec: final ? 0 : rate,
        ...(final ? {} : { runner: { owner: this.owner, until: now + options.staleMs } }),
        ...(status !== current.status && (status === "done" || status === "failed")
          ? { finishedAt: iso(now) }
          : {}),
        updatedAt: iso(now),
        rev: current.rev + 1,
      };
      if (await store.putJob(next, current.rev)) {
        this.job = next;
        return;
      }
      const fresh = await store.getJob(current.id);
      if (!fresh) return;
      current = fresh;
    }
    throw new StoreUnavailableError(`job ${this.job.id}: its progress could not be written (contention)`);
  }

  /** The last write of the run: releases the job (the heartbeat goes), and a resume asked meanwhile is served. */
  private async finish(failure: Error | undefined): Promise<void> {
    await this.writing;
    try {
      await this.save(true, failure);
    } catch (thrown: unknown) {
      this.ctx.onError?.("job progress could not be written", {
        jobId: this.job.id,
        error: describe(thrown),
      });
      return;
    }
    if (failure) this.ctx.onError?.("job failed", { jobId: this.job.id, error: describe(failure) });
    if (this.stopReason === "cancelled" && this.job.status === "queued") {
      // Resumed while this run was finishing its calls in flight: the new run starts now.
      await this.ctx.work.enqueue({ action: RUN_JOB, jobId: this.job.id });
    }
  }
}

/** An error as the job keeps it: its code and message, never content. */
function describe(thrown: unknown): string {
  if (thrown instanceof AppError) {
    return `${thrown.code}${thrown.providerCode !== undefined ? ` (provider ${thrown.providerCode})` : ""}: ${thrown.message}`.slice(
      0,
      300,
    );
  }
  return `internal: ${asError(thrown).message}`.slice(0, 300);
}

const iso = (ms: number) => new Date(ms).toISOString();
