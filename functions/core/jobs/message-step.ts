import type { ContentCodec } from "../codec.ts";
import {
  CancelledError,
  ConflictError,
  NotFoundError,
  OutcomeUnknownError,
  ProviderUnavailableError,
  StoreUnavailableError,
  TooManyRequestsError,
} from "../errors.ts";
import { inBackground } from "../limiter.ts";
import { type Content, isEditable, type MessageHead } from "../model.ts";
import type { ProviderEditor } from "../provider.ts";
import type { CompiledWork } from "./actions.ts";
import type { RunState } from "./context.ts";
import { PREVIEW_LIMIT, readable } from "./preview.ts";

export type Outcome = "done" | "failed" | "skipped" | "later" | "none" | "stopped";

/** Versions read to recognize this job's own edit when a page is redone. */
const RECOGNITION_DEPTH = 10;

/** One message of an edit job: recognized, planned, previewed (dry run) or edited through the edit protocol. */
export class MessageStep {
  constructor(private readonly run: RunState) {}

  /**
   * One message of the edit pass, counted by the caller. "later": busy now (lease held, outcome unknown),
   * try again after the last page; "none": nothing to count (a dry run's change); "stopped": the run stopped.
   */
  async process(
    head: MessageHead,
    compiled: CompiledWork,
    codec: ContentCodec,
    editor: ProviderEditor,
    recognize: boolean,
    final = false,
  ): Promise<Outcome> {
    const jobId = this.run.job.id;
    if (recognize && (await this.doneByThisJob(head))) return "done";
    if (!isEditable(head) || !this.editableNow(head, editor)) return "skipped";
    let planned: ReturnType<CompiledWork["target"]>;
    try {
      planned = compiled.target(head);
    } catch (thrown: unknown) {
      // Content the provider would refuse after the change (too long, bad elements): this message fails.
      return this.run.failed(thrown);
    }
    if (planned.kind !== "changed") return "skipped";
    if (this.run.job.dryRun) {
      if (this.run.preview.length < PREVIEW_LIMIT && !this.run.preview.some((item) => item.id === head.id)) {
        this.run.preview.push({
          id: head.id,
          before: readable(codec, head.content ?? {}),
          after: readable(codec, planned.content),
        });
      }
      this.run.tick();
      return "none";
    }
    let alreadyDone = false;
    let unchanged = false;
    const target = (current: MessageHead): Content | undefined => {
      // The run was cancelled: nothing more is sent (the limiter refuses it too).
      if (this.run.signal.aborted) throw new CancelledError(`job ${jobId} was cancelled`);
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
      if (this.run.signal.aborted) return "stopped"; // not counted: the page is redone on resume
      alreadyDone = false;
      unchanged = false;
      try {
        const result = await inBackground(this.run.signal, () =>
          this.run.ctx.edits.apply(head.id, target, {
            actor: this.run.job.actor,
            source: compiled.source,
            jobId,
            ...(compiled.ruleId !== undefined ? { ruleId: compiled.ruleId } : {}),
          }),
        );
        if (result.version !== undefined || alreadyDone) return "done";
        return unchanged ? "skipped" : "done";
      } catch (thrown: unknown) {
        if (thrown instanceof CancelledError || this.run.signal.aborted) return "stopped";
        if (thrown instanceof TooManyRequestsError) {
          // Interactive edits took the rate: wait for it, never fail the message for it.
          await this.run.pause(Math.min(1_000, (thrown.retryAfter ?? 1) * 1_000));
          continue;
        }
        if (busy(thrown)) {
          if (!final) return "later";
          return this.run.failed(thrown);
        }
        if (thrown instanceof NotFoundError) return "skipped";
        if (thrown instanceof ConflictError && thrown.code === "not_editable") return "skipped";
        return this.run.failed(thrown);
      }
    }
  }

  private editableNow(head: MessageHead, editor: ProviderEditor): boolean {
    try {
      editor.checkEditable(head, new Date(this.run.ctx.clock.now()));
      return true;
    } catch (thrown: unknown) {
      if (thrown instanceof ConflictError) return false;
      throw thrown;
    }
  }

  /** This job already wrote a version of the message (a page redone after a stop inside it). */
  async doneByThisJob(head: MessageHead): Promise<boolean> {
    const jobId = this.run.job.id;
    if (head.intent?.jobId === jobId && head.intent.state === "applied") return true;
    if (head.first?.jobId === jobId) return true;
    if (head.version <= 1) return false;
    const versions = await this.run.ctx.store.recentVersions(head.id, RECOGNITION_DEPTH);
    return versions.some((version) => version.jobId === jobId);
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
