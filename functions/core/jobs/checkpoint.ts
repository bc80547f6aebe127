import type { JobCounts } from "./model.ts";

/**
 * The checkpoint (`Job.cursor`, JSON): the phase, the listing page the runner is on, the counts when that
 * page began (a page is redone whole after a stop inside it: its messages already edited by this job are
 * recognized by their version's `jobId`, never sent twice) and the messages put aside for a retry.
 */
export interface Cursor {
  readonly phase: "count" | "edit" | "retry" | "reconcile" | "end";
  readonly token?: string;
  readonly base: JobCounts;
  /** Stopped inside the page (cancel, slice end is never inside one): redo it with recognition. */
  readonly partial?: true;
  /** Busy messages (lease held, outcome unknown) retried after the last page. */
  readonly later?: readonly string[];
}

export const ZERO: JobCounts = { matched: 0, done: 0, failed: 0, skipped: 0 };

export const addCounts = (a: JobCounts, b: JobCounts): JobCounts => ({
  matched: a.matched + b.matched,
  done: a.done + b.done,
  failed: a.failed + b.failed,
  skipped: a.skipped + b.skipped,
});

export function parseCursor(raw: string | undefined): Cursor | undefined {
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

export function withoutToken(cursor: Cursor): Cursor {
  const { token: _, ...rest } = cursor;
  return rest;
}

export function withoutLater(cursor: Cursor): Cursor {
  const { later: _, ...rest } = cursor;
  return rest;
}

export function withoutPartial(cursor: Cursor): Cursor {
  const { partial: _, ...rest } = cursor;
  return rest;
}
