/** Small pure formatting and input helpers for the views (unit tested); no DOM: `npm run jobs` uses them too. */

/** `0:15`, `12:03`, `1:02:03` for an ETA in seconds. */
export function formatEta(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export const formatRate = (perSecond: number): string => `${perSecond.toFixed(1)}/s`;

/** An API time in the reader's locale (the `<time>` element keeps the ISO value). */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** At most `max` characters of a text on one line, with an ellipsis when cut. */
export function snippet(text: string, max = 80): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * A Since/Until field for the API: empty stays empty; an ISO date (`2026-01-31`) or a time with an offset
 * goes as typed; a time without an offset (`2026-01-31T09:00`) is the reader's local time, sent in UTC.
 * Undefined when it is not a time at all.
 */
export function apiTime(input: string): string | undefined {
  const value = input.trim();
  if (value === "") return "";
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || !/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) return undefined;
  return /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value.replace(" ", "T") : time.toISOString();
}

/** What a job's progress is told from (the API's job view has these and more). */
export interface JobProgress {
  readonly status: string;
  readonly dryRun: boolean;
  readonly matched: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ratePerSec: number;
  readonly etaSeconds?: number | undefined;
  readonly preview?: readonly unknown[] | undefined;
}

/** A job's progress in one line, as the page shows it (`12/30`: settled of matched). */
export function progressLine(job: JobProgress): string {
  if (job.dryRun) {
    // A dry run edits nothing (done stays 0): what it tells is what would change (its preview, up to 100).
    const changes = job.preview?.length ?? 0;
    return `Dry run ${job.status} · ${job.matched} matched · ${changes}${changes >= 100 ? "+" : ""} would change.`;
  }
  const settled = job.done + job.failed + job.skipped;
  const parts = [
    `Job ${job.status}`,
    `${settled}/${job.matched} messages`,
    `done ${job.done}, failed ${job.failed}, skipped ${job.skipped}`,
  ];
  if (job.status === "running") parts.push(formatRate(job.ratePerSec));
  if (job.etaSeconds !== undefined) parts.push(`ETA ${formatEta(job.etaSeconds)}`);
  return `${parts.join(" · ")}.`;
}
