/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { readableData } from "../content.ts";
import { formatEta, formatRate, progressLine } from "../format.ts";
import type { Job, Readable } from "../schemas.ts";
import { useAction } from "./action.ts";
import { Alert, Fact, Status, Time } from "./common.tsx";
import { ContentDiff } from "./diff-view.tsx";

/** How often a queued or running job is read again. */
export const POLL_MS = 1_000;

/** One job, read again every second while it is queued or running: progress, cancel, resume, preview. */
export function JobPanel({
  api,
  id,
  onChange,
}: {
  readonly api: Api;
  readonly id: string;
  readonly onChange: () => void;
}) {
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  // Cancel and Resume say nothing while they run (the job's status does): only how they failed.
  const { error: actionError, busy, run } = useAction();
  const [poll, setPoll] = useState(0);
  const lastStatus = useRef<string | undefined>(undefined);
  const headingRef = useRef<HTMLHeadingElement | null>(null);
  const acted = useRef(false);
  // Cancel and Resume replace each other: after either, the focus goes to the job, not to the page.
  useEffect(() => {
    if (acted.current && document.activeElement === document.body) headingRef.current?.focus();
    acted.current = false;
  }, [job?.status]);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    api.getJob(id).then(
      (read) => {
        if (!live) return;
        setJob(read);
        setError(undefined);
        if (lastStatus.current !== undefined && lastStatus.current !== read.status) onChange();
        lastStatus.current = read.status;
        if (read.status === "queued" || read.status === "running") {
          timer = setTimeout(() => setPoll((n) => n + 1), POLL_MS);
        }
      },
      (failure: unknown) => {
        if (!live) return;
        setError(failure);
        // A blip does not stop the watch; a job that is gone does.
        timer = setTimeout(() => setPoll((n) => n + 1), POLL_MS * 3);
      },
    );
    return () => {
      live = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [id, poll]);

  const act = (work: () => Promise<unknown>) =>
    run("", async () => {
      await work();
      acted.current = true;
      setPoll((n) => n + 1);
      onChange();
      return "";
    });

  // A finished dry run has looked at every message it matched, though it edited none.
  const settled = job
    ? job.dryRun && job.status === "done"
      ? job.matched
      : job.done + job.failed + job.skipped
    : 0;
  return (
    <section class="job" aria-labelledby="job-heading">
      <h3 id="job-heading" tabIndex={-1} ref={headingRef}>
        {job?.dryRun ? "Dry run" : "Job"} <span class="mono">{id}</span>
      </h3>
      <Status text={job ? `${job.dryRun ? "Dry run" : "Job"} ${job.status}.` : "Loading the job…"} />
      {job && (
        <>
          <div class="field">
            <label for="job-progress">Progress</label>
            <progress
              id="job-progress"
              max={Math.max(job.matched, 1)}
              value={Math.min(settled, Math.max(job.matched, 1))}
            >
              {settled} of {job.matched}
            </progress>
          </div>
          <p>{progressLine(job)}</p>
          <dl class="facts">
            <Fact name="Status" value={job.status} />
            <Fact name="Matched" value={job.matched} />
            <Fact name="Done" value={job.done} />
            <Fact name="Failed" value={job.failed} />
            <Fact name="Skipped" value={job.skipped} />
            <Fact name="Rate" value={formatRate(job.ratePerSec)} />
            <Fact name="ETA" value={job.etaSeconds !== undefined ? formatEta(job.etaSeconds) : "—"} />
            <Fact name="Started" value={<Time iso={job.startedAt ?? job.createdAt} />} />
            {job.finishedAt !== undefined && <Fact name="Finished" value={<Time iso={job.finishedAt} />} />}
          </dl>
          {job.error !== undefined && <p class="note">Last provider error: {job.error}</p>}
          <div class="actions">
            {(job.status === "queued" || job.status === "running") && (
              <button
                type="button"
                class="danger"
                aria-disabled={busy}
                onClick={() => void act(() => api.cancelJob(id))}
              >
                Cancel job
              </button>
            )}
            {(job.status === "cancelled" || job.status === "failed") && (
              <button type="button" aria-disabled={busy} onClick={() => void act(() => api.resumeJob(id))}>
                Resume job
              </button>
            )}
          </div>
          <Alert error={actionError} />
          {job.dryRun && <Preview job={job} />}
        </>
      )}
      <Alert error={error} />
    </section>
  );
}

const side = (readable: Readable) => ({
  text: readable.text ?? "",
  customData: readableData(readable.customData),
});

function Preview({ job }: { readonly job: Job }) {
  const items = job.preview ?? [];
  return (
    <div class="preview">
      <h4>Preview</h4>
      {items.length === 0 ? (
        <p>{job.status === "done" ? "Nothing would change." : "No change found yet."}</p>
      ) : (
        <ol>
          {items.map((item) => (
            <li key={item.id}>
              <a href={`#/messages/${encodeURIComponent(item.id)}`} class="mono">
                {item.id}
              </a>
              <ContentDiff before={side(item.before)} after={side(item.after)} level={5} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
