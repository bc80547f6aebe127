import type { ContentCodec } from "../codec.ts";
import type { MessageHead } from "../model.ts";
import type { ProviderEditor } from "../provider.ts";
import { type CompiledWork, compileWork } from "./actions.ts";
import { addCounts, withoutLater, withoutToken, ZERO } from "./checkpoint.ts";
import type { RunState } from "./context.ts";
import { MessageStep, type Outcome } from "./message-step.ts";
import type { JobSelector } from "./model.ts";
import { listQueryOf, MessageFilter } from "./selector.ts";

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

/** Listing pages in progress at once in the edit pass (the one settling and those loaded ahead). */
const PIPELINE_PAGES = 3;

/** The passes of an edit job over the listing: counting, editing page by page, retrying what was busy. */
export class EditPass {
  private readonly step: MessageStep;

  constructor(private readonly run: RunState) {
    this.step = new MessageStep(run);
  }

  /** Edit jobs: the counting pass fixes `matched`, then the edit pass, then the messages put aside. */
  async execute(): Promise<void> {
    const { job } = this.run;
    const selector = job.selector;
    const work = job.work;
    if (!selector || !work) throw new Error(`job ${job.id} has no selector or work`);
    const editor = this.run.ctx.editors.get(selector.provider);
    const codec = this.run.ctx.codecOf(selector.provider);
    if (!editor || !codec) throw new Error(`provider ${selector.provider} is not configured for edits`);
    const compiled = compileWork(work, editor, codec, this.run.ctx.rules);
    const pattern =
      selector.text !== undefined ? this.run.ctx.rules.compilePattern(selector.text) : undefined;
    const filter = new MessageFilter(codec, pattern, compiled.matches);
    while (this.run.cursor.phase === "count") {
      if (this.run.shouldStop()) return;
      const page = await this.list(selector, this.run.cursor.token);
      const matched = page.items.filter((head) => filter.matches(head)).length;
      this.run.counts = { ...this.run.counts, matched: this.run.counts.matched + matched };
      this.run.cursor =
        page.nextToken !== undefined
          ? { ...this.run.cursor, token: page.nextToken, base: this.run.counts }
          : { ...withoutToken(this.run.cursor), phase: "edit", base: this.run.counts };
      await this.run.save(false);
    }
    if (this.run.cursor.phase === "edit") await this.editPages(selector, filter, compiled, codec, editor);
    if (this.run.cursor.phase === "retry") await this.retryLater(compiled, codec, editor);
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
    let token = this.run.cursor.token;
    let exhausted = false;
    // After a stop inside the pipeline, every page that may have been in progress is redone with
    // recognition, not only the first: the checkpoint stays at the first unsettled page while the
    // workers are up to PIPELINE_PAGES pages ahead, and one more when the stop (a crash) came while the
    // write moving the checkpoint was on its way.
    let redo = this.run.cursor.partial === true ? PIPELINE_PAGES + 1 : 0;
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
        if (this.run.signal.aborted) return undefined;
        // A slice ends at a page boundary: what was begun is finished, nothing new is begun.
        stopping ||= this.run.shouldStop();
        const page = pages.find((candidate) => candidate.taken < candidate.heads.length);
        if (page && (!stopping || page.taken > 0)) {
          const head = page.heads[page.taken++] as MessageHead;
          return { page, head };
        }
        if (stopping || exhausted) return undefined;
        // Two pages ahead at most: the next loads while the current one finishes.
        if (pages.length >= PIPELINE_PAGES) {
          await this.run.ctx.clock.sleep(5);
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
        if (page.redo && (await this.step.doneByThisJob(head))) outcome = "done";
        else if (!filter.matches(head)) outcome = "none";
        else outcome = await this.step.process(head, compiled, codec, editor, false);
        if (outcome === "later" && this.laterCount(pages) >= this.run.ctx.options.laterLimit) {
          outcome = await this.retryInPlace(head.id, compiled, codec, editor);
        }
        if (outcome === "later") page.later.push(head.id);
        else if (outcome !== "none" && outcome !== "stopped") {
          page.delta[outcome]++;
          this.run.count(outcome);
        }
        if (outcome !== "stopped") page.open--;
        if (this.settlePages(pages)) await this.run.save(false);
      }
    };
    await Promise.all(Array.from({ length: this.run.ctx.options.concurrency }, worker));
    await loading;
    if (this.run.signal.aborted) return;
    if (this.settlePages(pages)) await this.run.save(false);
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
      const base = addCounts(this.run.cursor.base, first.delta);
      const later = [...(this.run.cursor.later ?? []), ...first.later];
      this.run.cursor =
        first.after !== undefined
          ? { phase: "edit", token: first.after, base, ...(later.length > 0 ? { later } : {}) }
          : { phase: "retry", base, ...(later.length > 0 ? { later } : {}) };
      moved = true;
    }
  }

  /** Busy messages put aside so far: those in the checkpoint and those of the pages in progress. */
  private laterCount(pages: readonly PageInProgress[]): number {
    return pages.reduce((sum, page) => sum + page.later.length, this.run.cursor.later?.length ?? 0);
  }

  /** A busy message when no more can be put aside: retried here (with recognition) until it settles. */
  private async retryInPlace(
    id: string,
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
  ): Promise<Outcome> {
    const until = this.run.ctx.clock.now() + this.run.ctx.options.retryMs;
    for (;;) {
      await this.run.pause(1_000);
      if (this.run.signal.aborted) return "stopped";
      const head = await this.run.ctx.store.getHead(id);
      if (!head) return "skipped";
      const outcome = await this.step.process(
        head,
        compiled,
        codec,
        editor,
        true,
        this.run.ctx.clock.now() >= until,
      );
      if (outcome !== "later") return outcome;
    }
  }

  private list(selector: JobSelector, token: string | undefined) {
    return this.run.ctx.queries.list(
      listQueryOf(selector, {
        limit: this.run.ctx.options.pageSize,
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
    const until = this.run.ctx.clock.now() + this.run.ctx.options.retryMs;
    while ((this.run.cursor.later?.length ?? 0) > 0) {
      if (this.run.shouldStop()) return;
      const ids = this.run.cursor.later ?? [];
      const heads: MessageHead[] = [];
      let gone = 0;
      for (const id of ids) {
        const head = await this.run.ctx.store.getHead(id);
        if (head) heads.push(head);
        else gone++;
      }
      this.run.counts = { ...this.run.counts, skipped: this.run.counts.skipped + gone };
      const final = this.run.ctx.clock.now() >= until;
      // Always with recognition: an earlier attempt may have been applied and settled since.
      const still = await this.each(heads, (head) =>
        this.step.process(head, compiled, codec, editor, true, final),
      );
      if (this.run.signal.aborted) return;
      this.run.cursor = { ...this.run.cursor, later: still, base: this.run.counts };
      await this.run.save(false);
      if (still.length > 0) await this.run.ctx.clock.sleep(1_000);
    }
    this.run.cursor = { ...withoutLater(this.run.cursor), phase: "end", base: this.run.counts };
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
        if (this.run.signal.aborted) return;
        const head = heads[next++];
        if (!head) return;
        const outcome = await work(head);
        if (outcome === "later") later.push(head.id);
        else if (outcome !== "none" && outcome !== "stopped") this.run.count(outcome);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.run.ctx.options.concurrency, heads.length) }, worker),
    );
    return later;
  }
}
