import { BadRequestError, ConflictError, NotFoundError } from "../errors.ts";
import { requireListingFor } from "../listings.ts";
import type { ProviderName } from "../model.ts";
import { InvalidPageTokenError, type Page, type PageRequest } from "../store.ts";
import { compileWork } from "./actions.ts";
import type { JobContext } from "./context.ts";
import { newJobId } from "./ids.ts";
import type { Job, JobSelector, JobWork, ReconcileSpec } from "./model.ts";
import { validateReconcile } from "./reconcile.ts";
import { JobRunner, RUN_JOB } from "./runner.ts";

export interface CreateEditJob {
  readonly selector: JobSelector;
  readonly work: JobWork;
  readonly dryRun: boolean;
  readonly actor: string;
}

/**
 * Bulk jobs (`/v1/edits`, `/v1/reconcile`): creation (everything checked before the job exists), status,
 * cancel and resume; the work itself is the runner's, queued as `runJob`.
 */
export class JobService {
  readonly runner: JobRunner;

  constructor(private readonly ctx: JobContext) {
    this.runner = new JobRunner(ctx);
  }

  /**
   * A new edit job, queued. The selector's `until` is fixed now when absent, so the counting pass and the
   * edit pass see the same messages. 400/422 before any job exists: unknown provider or app, rule or pattern, a
   * bad action, an edit body the provider's editor refuses, since not before until, a selector whose listing
   * is off (LISTINGS: it would fail at its first page).
   */
  async createEdit(input: CreateEditJob): Promise<Job> {
    const now = this.ctx.clock.now();
    // Send times have one-second precision: "until now" ends with the current second, so what was sent
    // in it is in (the set is stable from the next second on).
    const until = input.selector.until ?? iso(Math.floor(now / 1_000) * 1_000 + 1_000);
    const selector: JobSelector = { ...input.selector, until };
    if (selector.since !== undefined && selector.until !== undefined && selector.since >= selector.until) {
      throw new BadRequestError("selector.since must be before selector.until", {
        code: "validation_failed",
      });
    }
    const editor = this.editor(selector.provider);
    // One editor per provider, for one app: a job on another app's messages could never edit one.
    if (editor.appId !== selector.appId) {
      throw new BadRequestError(
        `no editor is configured for provider ${selector.provider} and app ${JSON.stringify(selector.appId)}`,
        { code: "provider_not_configured" },
      );
    }
    const codec = this.ctx.codecOf(selector.provider);
    if (!codec) throw notConfigured(selector.provider);
    this.requireSelectorListing(selector);
    compileWork(input.work, editor, codec, this.ctx.rules);
    if (selector.text !== undefined) this.ctx.rules.compilePattern(selector.text);
    return this.start({
      id: newJobId(now),
      kind: "edit",
      status: "queued",
      dryRun: input.dryRun,
      selector,
      work: input.work,
      actor: input.actor,
      counts: { matched: 0, done: 0, failed: 0, skipped: 0 },
      createdAt: iso(now),
      updatedAt: iso(now),
      rev: 0,
    });
  }

  /** A new reconcile job over the provider's history of one conversation. */
  async createReconcile(spec: ReconcileSpec, actor: string): Promise<Job> {
    if (spec.since >= spec.until) {
      throw new BadRequestError("since must be before until", { code: "validation_failed" });
    }
    validateReconcile(spec, this.ctx.editors.get(spec.provider));
    const now = this.ctx.clock.now();
    return this.start({
      id: newJobId(now),
      kind: "reconcile",
      status: "queued",
      dryRun: false,
      reconcile: spec,
      actor,
      counts: { matched: 0, done: 0, failed: 0, skipped: 0 },
      createdAt: iso(now),
      updatedAt: iso(now),
      rev: 0,
    });
  }

  async get(id: string): Promise<Job> {
    const job = await this.ctx.store.getJob(id);
    if (!job) throw new NotFoundError(`no job ${JSON.stringify(id.slice(0, 80))}`);
    return job;
  }

  /** Newest first; a page token the store did not issue is a 400, as for message listings. */
  async list(page: PageRequest): Promise<Page<Job>> {
    try {
      return await this.ctx.store.listJobs(page);
    } catch (thrown: unknown) {
      if (thrown instanceof InvalidPageTokenError) {
        throw new BadRequestError(thrown.message, { code: "invalid_next_token" });
      }
      throw thrown;
    }
  }

  /**
   * Cancels the job and answers only once no provider call of it can start: a run in this process is
   * aborted before this returns (the limiter refuses aborted background callers); a run elsewhere
   * notices within its poll interval, and the answer waits (bounded) for it to let go of the job.
   * Calls already in flight may finish; they are counted. A finished job: 409.
   */
  async cancel(id: string): Promise<Job> {
    let job = await this.get(id);
    for (let attempt = 0; job.status !== "cancelled"; attempt++) {
      if (job.status === "done" || job.status === "failed") {
        throw new ConflictError(`job ${id} is ${job.status}`, { code: "job_finished" });
      }
      const now = this.ctx.clock.now();
      const cancelled: Job = { ...job, status: "cancelled", updatedAt: iso(now), rev: job.rev + 1 };
      if (await this.ctx.store.putJob(cancelled, job.rev)) {
        job = cancelled;
        break;
      }
      if (attempt >= 20)
        throw new ConflictError(`job ${id} is busy; try again`, { code: "write_contention" });
      job = await this.get(id);
    }
    this.runner.abortLocal(id);
    return this.awaitRelease(job);
  }

  /**
   * A cancelled, failed or interrupted job (its runner's heartbeat is stale) goes on from its checkpoint;
   * a running or queued one is left as it is; a done one: 409.
   */
  async resume(id: string): Promise<Job> {
    for (let attempt = 0; ; attempt++) {
      const job = await this.get(id);
      if (job.status === "done") throw new ConflictError(`job ${id} is done`, { code: "job_finished" });
      // A listing turned off since the job was created: refused now, not at its first page.
      if (job.selector) this.requireSelectorListing(job.selector);
      const now = this.ctx.clock.now();
      const alive = job.runner !== undefined && job.runner.until > now;
      if ((job.status === "running" || job.status === "queued") && alive) return job;
      const { error: _, finishedAt: _finished, ...rest } = job;
      const queued: Job = { ...rest, status: "queued", updatedAt: iso(now), rev: job.rev + 1 };
      if (await this.ctx.store.putJob(queued, job.rev)) {
        await this.ctx.work.enqueue({ action: RUN_JOB, jobId: id });
        return queued;
      }
      if (attempt >= 20)
        throw new ConflictError(`job ${id} is busy; try again`, { code: "write_contention" });
    }
  }

  /** The listing an edit job's selector pages through must be on (LISTINGS). */
  private requireSelectorListing(selector: JobSelector): void {
    requireListingFor(this.ctx.queries.listings, selector, {
      conversation: "A bulk job on one conversation",
      app: "A bulk job whose selector names no conversation (the whole app or one sender)",
    });
  }

  /** Runs a slice of a job (the work queue's `runJob`). */
  run(jobId: string): Promise<void> {
    return this.runner.run(jobId);
  }

  /**
   * At start: every queued or running job goes on (its runner died with the last process, or the queued
   * task was lost with it). A runner whose heartbeat is still fresh is looked at again once it is stale.
   */
  async takeOver(): Promise<string[]> {
    const jobs = await this.ctx.store.activeJobs();
    for (const job of jobs) await this.ctx.work.enqueue({ action: RUN_JOB, jobId: job.id });
    return jobs.map((job) => job.id);
  }

  /**
   * The periodic sweep (in AWS a schedule asks for it every minute; locally `takeOver` at start does this
   * job): a job whose runner stopped without a word (its heartbeat stale: a timeout, out of memory, a
   * crash) gets a new `runJob` now, instead of when the queue makes the crashed slice's message visible
   * again. A job without a live runner that is waiting for a task already queued (created, resumed,
   * between slices, swept before) is queued again only once that task has not started within `graceMs`
   * (lost between a slice's end and its re-enqueue, or refused by the queue). Each job is touched under its
   * `rev` before its task is queued: a runner claiming it meanwhile wins, and the next sweeps wait
   * `graceMs` for this task instead of piling duplicates up while the worker is busy. No active job: one
   * store call and nothing else. Answers the ids queued.
   */
  async sweep(graceMs = SWEEP_GRACE_MS): Promise<string[]> {
    const { store, clock, work } = this.ctx;
    const now = clock.now();
    const queued: string[] = [];
    for (const job of await store.activeJobs()) {
      if (!sweepDue(job, now, graceMs)) continue;
      const touched: Job = { ...job, updatedAt: iso(now), rev: job.rev + 1 };
      // Refused: a runner claimed it (or another sweep touched it) since the read; it is on its way.
      if (!(await store.putJob(touched, job.rev))) continue;
      await work.enqueue({ action: RUN_JOB, jobId: job.id });
      queued.push(job.id);
    }
    return queued;
  }

  /** Stores the new job and queues its first run. */
  private async start(job: Job): Promise<Job> {
    if (!(await this.ctx.store.createJob(job))) {
      throw new ConflictError(`job ${job.id} exists`, { code: "write_contention" });
    }
    await this.ctx.work.enqueue({ action: RUN_JOB, jobId: job.id });
    return job;
  }

  private async awaitRelease(job: Job): Promise<Job> {
    const { clock, options, store } = this.ctx;
    const deadline = clock.now() + options.cancelWaitMs;
    let current = job;
    for (;;) {
      const now = clock.now();
      const held = current.runner !== undefined && current.runner.until > now;
      if (!held || now >= deadline) return current;
      await clock.sleep(Math.min(50, options.pollMs));
      current = (await store.getJob(job.id)) ?? current;
    }
  }

  private editor(provider: ProviderName) {
    const editor = this.ctx.editors.get(provider);
    if (!editor) throw notConfigured(provider);
    return editor;
  }
}

/** How long a queued `runJob` may take to start before a sweep queues the job again (see `sweep`). */
export const SWEEP_GRACE_MS = 5 * 60_000;

/**
 * Whether a sweep queues the job: its runner's heartbeat went stale after the runner's own last write
 * (nobody has acted on it since: a runner's writes stamp `updatedAt` before its `until`), or the job has
 * waited `graceMs` since it was last touched without a live runner taking it.
 */
function sweepDue(job: Job, now: number, graceMs: number): boolean {
  const touched = Date.parse(job.updatedAt);
  if (!Number.isFinite(touched)) return true;
  if (job.runner) {
    if (job.runner.until > now) return false;
    if (touched < job.runner.until) return true;
  }
  return now - touched >= graceMs;
}

const notConfigured = (provider: ProviderName) =>
  new BadRequestError(`provider ${provider} is not configured for edits`, {
    code: "provider_not_configured",
  });

const iso = (ms: number) => new Date(ms).toISOString();
