import { inBackground } from "../limiter.ts";
import { publishQuietly, recordedEvent, versionEvent } from "../outbox.ts";
import type { RunState } from "./context.ts";
import { reconcilePage } from "./reconcile.ts";

/** Reconcile jobs: the provider's history page by page (matched = seen, done = created, skipped = existing). */
export async function reconcilePass(run: RunState): Promise<void> {
  const { store, clock, options } = run.ctx;
  const spec = run.job.reconcile;
  if (!spec) throw new Error(`job ${run.job.id} has no reconcile spec`);
  const editor = run.ctx.editors.get(spec.provider);
  if (!editor) throw new Error(`provider ${spec.provider} is not configured for edits`);
  const now = () => new Date(clock.now());
  while (run.cursor.phase === "reconcile") {
    if (run.shouldStop()) return;
    // One history call: its own deadline, well inside the slice.
    const deadline = Math.min(run.startedAt + options.sliceMs, clock.now() + 25_000);
    const token = run.cursor.token;
    const result = await inBackground(run.signal, () =>
      reconcilePage(store, editor, spec, token, deadline, now, { jobId: run.job.id }),
    );
    run.counts = {
      matched: run.counts.matched + result.seen,
      done: run.counts.done + result.created,
      failed: run.counts.failed,
      skipped: run.counts.skipped + result.existing,
    };
    await publishQuietly(
      run.ctx.outbox,
      result.recorded.map((head) => (head.first ? versionEvent(head, head.first) : recordedEvent(head))),
      (error) =>
        run.ctx.onError?.("reconciled records not announced", {
          jobId: run.job.id,
          error: error.message,
        }),
    );
    for (let i = 0; i < result.seen; i++) run.tick();
    run.cursor =
      result.nextCursor !== undefined
        ? { phase: "reconcile", token: result.nextCursor, base: run.counts }
        : { phase: "end", base: run.counts };
    await run.save(false);
  }
}
