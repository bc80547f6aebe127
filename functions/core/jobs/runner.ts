import { randomUUID } from "node:crypto";
import type { ContentCodec } from "../codec.ts";
import type { EditService } from "../edits.ts";
import {
  AppError,
  asError,
  CancelledError,
  ConflictError,
  NotFoundError,
  OutcomeUnknownError,
  ProviderUnavailableError,
  StoreUnavailableError,
  TooManyRequestsError,
} from "../errors.ts";
import { type Clock, inBackground } from "../limiter.ts";
import { type Content, isEditable, type MessageHead, type ProviderName } from "../model.ts";
import { type Outbox, publishQuietly, recordedEvent, versionEvent } from "../outbox.ts";
import type { ProviderEditor } from "../provider.ts";
import type { MessageQueries } from "../queries.ts";
import type { MessageStore } from "../store.ts";
import type { WorkQueue } from "../work.ts";
import { type CompiledWork, compileWork, type JobRules } from "./actions.ts";
import type { Job, JobCounts, JobSelector, JobStatus, JobStore, PreviewItem } from "./model.ts";
import { reconcilePage } from "./reconcile.ts";
import { listQueryOf, MessageFilter } from "./selector.ts";

/** The work queue action that runs (a slice of) a job: `{ "action": "runJob", "jobId": "job_…" }`. */
export const RUN_JOB = "runJob";

export interface JobOptions {
  /** Provider calls a job keeps in flight. */
  readonly concurrency: number;
  /** How long one run (a slice) goes before it checkpoints and queues the rest (a Lambda's timeout). */
  readonly sliceMs: number;
  /** How often the runner writes its progress and renews its heartbeat. */
  readonly heartbeatMs: number;
  /** A heartbeat older than this is a dead runner: its job is taken over. */
  readonly staleMs: number;
  /** How often the runner reads its job to notice a cancel from another process. */
  readonly pollMs: number;
  /** Messages per listing page (the checkpoint is taken after each). */
  readonly pageSize: number;
  /** How long a message that stays busy (lease held, outcome unknown) is retried before it fails. */
  readonly retryMs: number;
  /** How long a cancel waits for the runner to acknowledge it (then its heartbeat is stale anyway). */
  readonly cancelWaitMs: number;
  /**
   * Busy messages the checkpoint keeps for a retry after the last page (their ids are in the job item);
   * past it a busy message is retried in place, so the job item stays small through a provider outage.
   */
  readonly laterLimit: number;
}

export const DEFAULT_JOB_OPTIONS: JobOptions = {
  concurrency: 16,
  sliceMs: 600_000,
  heartbeatMs: 1_000,
  staleMs: 10_000,
  pollMs: 250,
  pageSize: 100,
  retryMs: 120_000,
  cancelWaitMs: 2_000,
  laterLimit: 1_000,
};

export interface JobContext {
  readonly store: JobStore & MessageStore;
  readonly queries: MessageQueries;
  readonly edits: Pick<EditService, "apply">;
  readonly editors: ReadonlyMap<ProviderName, ProviderEditor>;
  readonly codecOf: (provider: ProviderName) => ContentCodec | undefined;
  readonly rules: JobRules;
  readonly work: WorkQueue;
  /** Where reconciled records are announced (`MessageRecorded`, source `reconcile`). */
  readonly outbox?: Outbox;
  readonly clock: Clock;
  readonly options: JobOptions;
  /** Where the runner reports what went wrong outside any request (logged by the wiring). */
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The checkpoint (`Job.cursor`, JSON): the phase, the listing page the runner is on, the counts when that
 * page began (a page is redone whole after a stop inside it: its messages already edited by this job are
 * recognized by their version's `jobId`, never sent twice) and the messages put aside for a retry.
 */
interface Cursor {
  readonly phase: "count" | "edit" | "retry" | "reconcile" | "end";
  readonly token?: string;
  readonly base: JobCounts;
  /** Stopped inside the page (cancel, slice end is never inside one): redo it with recognition. */
  readonly partial?: true;
  /** Busy messages (lease held, outcome unknown) retried after the last page. */
  readonly later?: readonly string[];
}

const ZERO: JobCounts = { matched: 0, done: 0, failed: 0, skipped: 0 };

type Outcome = "done" | "failed" | "skipped" | "later" | "none" | "stopped";

/** A listing page of the edit pass while its messages are worked on. */
interface PageInProgress {
  readonly heads: readonly MessageHead[];
  /** The token of the page after it (absent: the last page). */
  readonly after?: string | undefined;
  /** Messages handed to workers, and those not answered yet. */
  taken: number;
  open: number;
  readonly delta: { matched: number; done: number; failed: number; skipped: number };
  readonly later: string[];
  /** Redone after a stop inside it: this job's own versions are looked for first. */
  readonly redo: boolean;
}

const addCounts = (a: JobCounts, b: JobCounts): JobCounts => ({
  matched: a.matched + b.matched,
  done: a.done + b.done,
  failed: a.failed + b.failed,
  skipped: a.skipped + b.skipped,
});
/**
 * A dry run shows at most this many messages; text and custom data are cut to keep the job item small:
 * by UTF-8 bytes, as the store counts them (280 CJK characters are 840 bytes), so 100 items before and
 * after stay under ~200 KB of DynamoDB's 400 KB item.
 */
export const PREVIEW_LIMIT = 100;
const PREVIEW_TEXT_BYTES = 400;
const PREVIEW_DATA_BYTES = 500;
const RATE_WINDOW_MS = 10_000;
/** Listing pages in progress at once in the edit pass (the one settling and those loaded ahead). */
const PIPELINE_PAGES = 3;
/** Versions read to recognize this job's own edit when a page is redone. */
const RECOGNITION_DEPTH = 10;

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
class JobRun {
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  private job: Job;
  private counts: JobCounts;
  private cursor: Cursor;
  private readonly preview: PreviewItem[];
  private lastError: string | undefined;
  private readonly processed: number[] = [];
  private readonly startedAt: number;
  private writing: Promise<unknown> = Promise.resolve();
  private resolveFinished!: () => void;
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(
    private readonly ctx: JobContext,
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
      if (this.job.kind === "reconcile") await this.reconcile();
      else await this.edit();
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

  /** Edit jobs: the counting pass fixes `matched`, then the edit pass, then the messages put aside. */
  private async edit(): Promise<void> {
    const { job } = this;
    const selector = job.selector;
    const work = job.work;
    if (!selector || !work) throw new Error(`job ${job.id} has no selector or work`);
    const editor = this.ctx.editors.get(selector.provider);
    const codec = this.ctx.codecOf(selector.provider);
    if (!editor || !codec) throw new Error(`provider ${selector.provider} is not configured for edits`);
    const compiled = compileWork(work, editor, codec, this.ctx.rules);
    const pattern = selector.text !== undefined ? this.ctx.rules.compilePattern(selector.text) : undefined;
    const filter = new MessageFilter(codec, pattern, compiled.matches);
    while (this.cursor.phase === "count") {
      if (this.shouldStop()) return;
      const page = await this.list(selector, this.cursor.token);
      const matched = page.items.filter((head) => filter.matches(head)).length;
      this.counts = { ...this.counts, matched: this.counts.matched + matched };
      this.cursor =
        page.nextToken !== undefined
          ? { ...this.cursor, token: page.nextToken, base: this.counts }
          : { ...withoutToken(this.cursor), phase: "edit", base: this.counts };
      await this.save(false);
    }
    if (this.cursor.phase === "edit") await this.editPages(selector, filter, compiled, codec, editor);
    if (this.cursor.phase === "retry") await this.retryLater(compiled, codec, editor);
  }

  /**
   * The edit pass as a pipeline: the workers go on into the next page while the last calls of the page
   * before are answered (a pause at every page boundary would leave provider slots unused). The
   * checkpoint moves past a page once it and every page before it are settled; its counts exclude the
   * pages still in progress, which are redone (with recognition) after a stop inside them.
   */
  private async editPages(
    selector: JobSelector,
    filter: MessageFilter,
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
  ): Promise<void> {
    const pages: PageInProgress[] = [];
    let token = this.cursor.token;
    let exhausted = false;
    // After a stop inside the pipeline, every page that may have been in progress is redone with
    // recognition, not only the first: the checkpoint stays at the first unsettled page while the
    // workers are up to PIPELINE_PAGES pages ahead, and one more when the stop (a crash) came while the
    // write moving the checkpoint was on its way.
    let redo = this.cursor.partial === true ? PIPELINE_PAGES + 1 : 0;
    let loading: Promise<void> | undefined;
    let stopping = false;
    const load = async () => {
      const page = await this.list(selector, token);
      token = page.nextToken;
      exhausted = token === undefined;
      pages.push({
        heads: page.items,
        after: page.nextToken,
        taken: 0,
        open: page.items.length,
        delta: { ...ZERO },
        later: [],
        redo: redo > 0,
      });
      redo = Math.max(0, redo - 1);
      this.settlePages(pages);
    };
    /** The next message to work on, or undefined when there is none (or the run stops). */
    const take = async (): Promise<{ page: PageInProgress; head: MessageHead } | undefined> => {
      for (;;) {
        if (this.signal.aborted) return undefined;
        // A slice ends at a page boundary: what was begun is finished, nothing new is begun.
        stopping ||= this.shouldStop();
        const page = pages.find((candidate) => candidate.taken < candidate.heads.length);
        if (page && (!stopping || page.taken > 0)) {
          const head = page.heads[page.taken++] as MessageHead;
          return { page, head };
        }
        if (stopping || exhausted) return undefined;
        // Two pages ahead at most: the next loads while the current one finishes.
        if (pages.length >= PIPELINE_PAGES) {
          await this.ctx.clock.sleep(5);
          continue;
        }
        loading ??= load().finally(() => {
          loading = undefined;
        });
        await loading;
      }
    };
    const worker = async () => {
      for (;;) {
        const next = await take();
        if (!next) return;
        const { page, head } = next;
        let outcome: Outcome;
        // A page redone after a stop inside it: this job's own edits come first (after a redaction the
        // message no longer matches the pattern, yet it is done).
        if (page.redo && (await this.doneByThisJob(head))) outcome = "done";
        else if (!filter.matches(head)) outcome = "none";
        else outcome = await this.process(head, compiled, codec, editor, false);
        if (outcome === "later" && this.laterCount(pages) >= this.ctx.options.laterLimit) {
          outcome = await this.retryInPlace(head.id, compiled, codec, editor);
        }
        if (outcome === "later") page.later.push(head.id);
        else if (outcome !== "none" && outcome !== "stopped") {
          page.delta[outcome]++;
          this.count(outcome);
        }
        if (outcome !== "stopped") page.open--;
        if (this.settlePages(pages)) await this.save(false);
      }
    };
    await Promise.all(Array.from({ length: this.ctx.options.concurrency }, worker));
    await loading;
    if (this.signal.aborted) return;
    if (this.settlePages(pages)) await this.save(false);
  }

  /**
   * Moves the checkpoint past the leading pages that are settled (every message taken and answered);
   * true when it moved.
   */
  private settlePages(pages: PageInProgress[]): boolean {
    let moved = false;
    for (;;) {
      const first = pages[0];
      if (!first || first.taken < first.heads.length || first.open > 0) return moved;
      pages.shift();
      const base = addCounts(this.cursor.base, first.delta);
      const later = [...(this.cursor.later ?? []), ...first.later];
      this.cursor =
        first.after !== undefined
          ? { phase: "edit", token: first.after, base, ...(later.length > 0 ? { later } : {}) }
          : { phase: "retry", base, ...(later.length > 0 ? { later } : {}) };
      moved = true;
    }
  }

  /** Busy messages put aside so far: those in the checkpoint and those of the pages in progress. */
  private laterCount(pages: readonly PageInProgress[]): number {
    return pages.reduce((sum, page) => sum + page.later.length, this.cursor.later?.length ?? 0);
  }

  /** A busy message when no more can be put aside: retried here (with recognition) until it settles. */
  private async retryInPlace(
    id: string,
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
  ): Promise<Outcome> {
    const until = this.ctx.clock.now() + this.ctx.options.retryMs;
    for (;;) {
      await this.pause(1_000);
      if (this.signal.aborted) return "stopped";
      const head = await this.ctx.store.getHead(id);
      if (!head) return "skipped";
      const outcome = await this.process(head, compiled, codec, editor, true, this.ctx.clock.now() >= until);
      if (outcome !== "later") return outcome;
    }
  }

  private list(selector: JobSelector, token: string | undefined) {
    return this.ctx.queries.list(
      listQueryOf(selector, {
        limit: this.ctx.options.pageSize,
        ...(token !== undefined ? { nextToken: token } : {}),
      }),
    );
  }

  /** The messages put aside (busy) after the last page: retried until they settle or `retryMs` passes. */
  private async retryLater(
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
  ): Promise<void> {
    const until = this.ctx.clock.now() + this.ctx.options.retryMs;
    while ((this.cursor.later?.length ?? 0) > 0) {
      if (this.shouldStop()) return;
      const ids = this.cursor.later ?? [];
      const heads: MessageHead[] = [];
      let gone = 0;
      for (const id of ids) {
        const head = await this.ctx.store.getHead(id);
        if (head) heads.push(head);
        else gone++;
      }
      this.counts = { ...this.counts, skipped: this.counts.skipped + gone };
      const final = this.ctx.clock.now() >= until;
      // Always with recognition: an earlier attempt may have been applied and settled since.
      const still = await this.each(heads, (head) =>
        this.process(head, compiled, codec, editor, true, final),
      );
      if (this.signal.aborted) return;
      this.cursor = { ...this.cursor, later: still, base: this.counts };
      await this.save(false);
      if (still.length > 0) await this.ctx.clock.sleep(1_000);
    }
    this.cursor = { ...withoutLater(this.cursor), phase: "end", base: this.counts };
  }

  /**
   * Runs `work` over `heads` with `concurrency` in flight, counting what it settles; returns the ids to
   * retry later (busy messages). Stops starting new work once the run is aborted.
   */
  private async each(
    heads: readonly MessageHead[],
    work: (head: MessageHead) => Promise<Outcome>,
  ): Promise<string[]> {
    const later: string[] = [];
    let next = 0;
    const worker = async () => {
      for (;;) {
        if (this.signal.aborted) return;
        const head = heads[next++];
        if (!head) return;
        const outcome = await work(head);
        if (outcome === "later") later.push(head.id);
        else if (outcome !== "none" && outcome !== "stopped") this.count(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.ctx.options.concurrency, heads.length) }, worker));
    return later;
  }

  /**
   * One message of the edit pass, counted by the caller. "later": busy now (lease held, outcome unknown),
   * try again after the last page; "none": nothing to count (a dry run's change); "stopped": the run stopped.
   */
  private async process(
    head: MessageHead,
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
    recognize: boolean,
    final = false,
  ): Promise<Outcome> {
    const jobId = this.job.id;
    if (recognize && (await this.doneByThisJob(head))) return "done";
    if (!isEditable(head) || !this.editableNow(head, editor)) return "skipped";
    let planned: ReturnType<CompiledWork["target"]>;
    try {
      planned = compiled.target(head);
    } catch (thrown: unknown) {
      // Content the provider would refuse after the change (too long, bad elements): this message fails.
      return this.failed(thrown);
    }
    if (planned.kind !== "changed") return "skipped";
    if (this.job.dryRun) {
      if (this.preview.length < PREVIEW_LIMIT && !this.preview.some((item) => item.id === head.id)) {
        this.preview.push({
          id: head.id,
          before: readable(codec, head.content ?? {}),
          after: readable(codec, planned.content),
        });
      }
      this.tick();
      return "none";
    }
    let alreadyDone = false;
    let unchanged = false;
    const target = (current: MessageHead): Content | undefined => {
      // The run was cancelled: nothing more is sent (the limiter refuses it too).
      if (this.signal.aborted) throw new CancelledError(`job ${jobId} was cancelled`);
      const intent = current.intent;
      if (
        intent?.jobId === jobId &&
        intent.state === "applied" &&
        intent.contentHash === current.contentHash
      ) {
        alreadyDone = true; // settled by read-back after a crash: this job's edit is the newest
        return undefined;
      }
      const outcome = compiled.target(current);
      if (outcome.kind === "changed") return outcome.content;
      unchanged = true;
      return undefined;
    };
    for (;;) {
      if (this.signal.aborted) return "stopped"; // not counted: the page is redone on resume
      alreadyDone = false;
      unchanged = false;
      try {
        const result = await inBackground(this.signal, () =>
          this.ctx.edits.apply(head.id, target, {
            actor: this.job.actor,
            source: compiled.source,
            jobId,
            ...(compiled.ruleId !== undefined ? { ruleId: compiled.ruleId } : {}),
          }),
        );
        if (result.version !== undefined || alreadyDone) return "done";
        return unchanged ? "skipped" : "done";
      } catch (thrown: unknown) {
        if (thrown instanceof CancelledError || this.signal.aborted) return "stopped";
        if (thrown instanceof TooManyRequestsError) {
          // Interactive edits took the rate: wait for it, never fail the message for it.
          await this.pause(Math.min(1_000, (thrown.retryAfter ?? 1) * 1_000));
          continue;
        }
        if (busy(thrown)) {
          if (!final) return "later";
          return this.failed(thrown);
        }
        if (thrown instanceof NotFoundError) return "skipped";
        if (thrown instanceof ConflictError && thrown.code === "not_editable") return "skipped";
        return this.failed(thrown);
      }
    }
  }

  private editableNow(head: MessageHead, editor: ProviderEditor): boolean {
    try {
      editor.checkEditable(head, new Date(this.ctx.clock.now()));
      return true;
    } catch (thrown: unknown) {
      if (thrown instanceof ConflictError) return false;
      throw thrown;
    }
  }

  /** This job already wrote a version of the message (a page redone after a stop inside it). */
  private async doneByThisJob(head: MessageHead): Promise<boolean> {
    const jobId = this.job.id;
    if (head.intent?.jobId === jobId && head.intent.state === "applied") return true;
    if (head.first?.jobId === jobId) return true;
    if (head.version <= 1) return false;
    const versions = await this.ctx.store.recentVersions(head.id, RECOGNITION_DEPTH);
    return versions.some((version) => version.jobId === jobId);
  }

  /** Reconcile jobs: the provider's history page by page (matched = seen, done = created, skipped = existing). */
  private async reconcile(): Promise<void> {
    const { store, clock, options } = this.ctx;
    const spec = this.job.reconcile;
    if (!spec) throw new Error(`job ${this.job.id} has no reconcile spec`);
    const editor = this.ctx.editors.get(spec.provider);
    if (!editor) throw new Error(`provider ${spec.provider} is not configured for edits`);
    const now = () => new Date(clock.now());
    while (this.cursor.phase === "reconcile") {
      if (this.shouldStop()) return;
      // One history call: its own deadline, well inside the slice.
      const deadline = Math.min(this.startedAt + options.sliceMs, clock.now() + 25_000);
      const token = this.cursor.token;
      const result = await inBackground(this.signal, () =>
        reconcilePage(store, editor, spec, token, deadline, now, { jobId: this.job.id }),
      );
      this.counts = {
        matched: this.counts.matched + result.seen,
        done: this.counts.done + result.created,
        failed: this.counts.failed,
        skipped: this.counts.skipped + result.existing,
      };
      await publishQuietly(
        this.ctx.outbox,
        result.recorded.map((head) => (head.first ? versionEvent(head, head.first) : recordedEvent(head))),
        (error) =>
          this.ctx.onError?.("reconciled records not announced", {
            jobId: this.job.id,
            error: error.message,
          }),
      );
      for (let i = 0; i < result.seen; i++) this.tick();
      this.cursor =
        result.nextCursor !== undefined
          ? { phase: "reconcile", token: result.nextCursor, base: this.counts }
          : { phase: "end", base: this.counts };
      await this.save(false);
    }
  }

  /** Whether to stop before the next page: cancelled, lost, or the slice is over (then the rest is queued). */
  private shouldStop(): boolean {
    if (this.signal.aborted) return true;
    if (this.ctx.clock.now() - this.startedAt >= this.ctx.options.sliceMs) {
      this.stopReason ??= "slice";
      return true;
    }
    return false;
  }

  private count(field: "done" | "failed" | "skipped"): void {
    this.counts = { ...this.counts, [field]: this.counts[field] + 1 };
    this.tick();
  }

  /** A message the provider (or the content's own check) refused: the job keeps the last reason. */
  private failed(error: unknown): "failed" {
    this.lastError = describe(error);
    return "failed";
  }

  private tick(): void {
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

  private async pause(ms: number): Promise<void> {
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
  private save(final: boolean, failure?: Error): Promise<void> {
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

/** Errors after which the same message is worth another try shortly. */
function busy(thrown: unknown): boolean {
  if (thrown instanceof OutcomeUnknownError || thrown instanceof ProviderUnavailableError) return true;
  if (thrown instanceof StoreUnavailableError) return true;
  return (
    thrown instanceof ConflictError &&
    ["lease_held", "previous_edit_unknown", "write_contention", "idempotency_in_progress"].includes(
      thrown.code,
    )
  );
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

/** Text and custom data as a person reads them, cut to keep the preview small. */
function readable(codec: ContentCodec, content: Content): Record<string, unknown> {
  const text = codec.text(content);
  const data = codec.customData(content);
  const json = data === undefined ? undefined : JSON.stringify(data);
  return {
    text: cutUtf8(text, PREVIEW_TEXT_BYTES),
    ...(json === undefined
      ? {}
      : {
          customData: Buffer.byteLength(json) > PREVIEW_DATA_BYTES ? cutUtf8(json, PREVIEW_DATA_BYTES) : data,
        }),
  };
}

/** `value` within `maxBytes` of UTF-8 (an ellipsis when cut), never splitting a character. */
function cutUtf8(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) <= maxBytes) return value;
  let bytes = 3; // the ellipsis
  let end = 0;
  for (const char of value) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return `${value.slice(0, end)}…`;
}

function parseCursor(raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as Cursor;
    return typeof parsed === "object" && parsed !== null && typeof parsed.phase === "string"
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

function withoutToken(cursor: Cursor): Cursor {
  const { token: _, ...rest } = cursor;
  return rest;
}

function withoutLater(cursor: Cursor): Cursor {
  const { later: _, ...rest } = cursor;
  return rest;
}

function withoutPartial(cursor: Cursor): Cursor {
  const { partial: _, ...rest } = cursor;
  return rest;
}

const iso = (ms: number) => new Date(ms).toISOString();
