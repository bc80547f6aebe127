/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { readableData } from "../content.ts";
import { formatEta, formatRate, progressLine } from "../format.ts";
import type { Job, Readable } from "../schemas.ts";
import { EMPTY_SELECTOR, type SelectorValues, selectorOf } from "../selector.ts";
import { useAction } from "./action.ts";
import { Alert, ColumnHeads, Fact, SelectorFields, Status, TableScroll, TextField, Time } from "./common.tsx";
import { ContentDiff } from "./diff-view.tsx";

/** How often a queued or running job is read again. */
export const POLL_MS = 1_000;

export type JobActionKind = "replace" | "redact" | "text";

export interface JobForm extends SelectorValues {
  readonly matchText: string;
  readonly action: JobActionKind;
  readonly find: string;
  readonly replaceWith: string;
  readonly mask: string;
  readonly newText: string;
}

export const EMPTY_JOB: JobForm = {
  ...EMPTY_SELECTOR,
  matchText: "",
  action: "replace",
  find: "",
  replaceWith: "",
  mask: "***",
  newText: "",
};

const BAD_TIME = "Since and Until take a date or time (for example 2026-01-31 or 2026-01-31T09:00).";
const PROBLEMS = { owner: "Provider and App are needed.", since: BAD_TIME, until: BAD_TIME } as const;

/**
 * The `POST /v1/edits` body of the form, or what is wrong with it. Without "Match text" a replace or
 * redact selects the messages its Find pattern matches, so the job's counts are about those.
 */
export function jobBodyOf(
  form: JobForm,
  dryRun: boolean,
): { body: Record<string, unknown> } | { problem: string } {
  const pattern = form.find;
  const matchText = form.matchText !== "" ? form.matchText : form.action !== "text" ? pattern : "";
  const checked = selectorOf(form, { text: matchText });
  if ("missing" in checked) return { problem: PROBLEMS[checked.missing] };
  if (form.action !== "text" && pattern === "") return { problem: "Find needs a pattern." };
  if (form.action === "text" && form.newText === "") return { problem: "New text needs the text to set." };
  const work =
    form.action === "replace"
      ? { action: { replace: { pattern, with: form.replaceWith } } }
      : form.action === "redact"
        ? { action: { redact: { pattern, mask: form.mask } } }
        : { edit: { text: form.newText } };
  return { body: { selector: checked.selector, ...work, dryRun } };
}

const ACTIONS: ReadonlyArray<{ value: JobActionKind; label: string }> = [
  { value: "replace", label: "Replace matches" },
  { value: "redact", label: "Redact matches" },
  { value: "text", label: "Set the whole text" },
];

export function JobsPage(props: {
  readonly api: Api;
  readonly jobId: string | undefined;
  readonly form: JobForm;
  readonly setForm: (form: JobForm) => void;
  readonly openJob: (id: string) => void;
}) {
  const { api, form, setForm } = props;
  const { error, setError, status, busy, run } = useAction();
  const [listVersion, setListVersion] = useState(0);
  const set = (field: keyof JobForm) => (value: string) => setForm({ ...form, [field]: value });

  const start = async (dryRun: boolean) => {
    if (busy) return;
    const built = jobBodyOf(form, dryRun);
    if ("problem" in built) {
      setError(new Error(built.problem));
      return;
    }
    await run(dryRun ? "Starting a dry run…" : "Starting the job…", async () => {
      const accepted = await api.createJob(built.body);
      setListVersion((n) => n + 1);
      props.openJob(accepted.id);
      // Said once, when it is created: the job's own panel below shows its status as it changes.
      return `${dryRun ? "Dry run" : "Job"} ${accepted.id} created.`;
    });
  };

  return (
    <section aria-labelledby="jobs-heading" class="panel">
      <h2 id="jobs-heading" tabIndex={-1}>
        Bulk jobs
      </h2>
      <form
        aria-label="Bulk job"
        onSubmit={(event) => {
          event.preventDefault();
          void start(false);
        }}
      >
        <fieldset>
          <legend>Which messages</legend>
          <div class="grid">
            <SelectorFields
              idPrefix="job"
              values={form}
              set={set}
              required
              hints={{ until: "Default: now" }}
            />
            <TextField
              id="job-match"
              label="Match text"
              value={form.matchText}
              onInput={set("matchText")}
              hint="An RE2 pattern the text must contain. Empty: the Find pattern."
            />
          </div>
        </fieldset>
        <fieldset>
          <legend>What to do</legend>
          <div class="choices">
            {ACTIONS.map((action) => (
              <div class="choice" key={action.value}>
                <input
                  type="radio"
                  id={`job-action-${action.value}`}
                  name="job-action"
                  value={action.value}
                  checked={form.action === action.value}
                  onChange={() => setForm({ ...form, action: action.value })}
                />
                <label for={`job-action-${action.value}`}>{action.label}</label>
              </div>
            ))}
          </div>
          <div class="grid">
            {form.action !== "text" && (
              <TextField
                id="job-find"
                label="Find"
                value={form.find}
                onInput={set("find")}
                hint="An RE2 pattern, e.g. (?i)\bdarn\b"
              />
            )}
            {form.action === "replace" && (
              <TextField
                id="job-replace-with"
                label="Replace with"
                value={form.replaceWith}
                onInput={set("replaceWith")}
                hint="May use $1, ${name}"
              />
            )}
            {form.action === "redact" && (
              <TextField id="job-mask" label="Mask" value={form.mask} onInput={set("mask")} />
            )}
            {form.action === "text" && (
              <TextField
                id="job-new-text"
                label="New text"
                value={form.newText}
                onInput={set("newText")}
                multiline
              />
            )}
          </div>
        </fieldset>
        <div class="actions">
          <button type="button" aria-disabled={busy} onClick={() => void start(true)}>
            Dry run
          </button>
          <button type="submit" aria-disabled={busy}>
            Start job
          </button>
        </div>
        <Status text={status} />
        <Alert error={error} />
      </form>
      {props.jobId !== undefined && (
        <JobPanel
          key={props.jobId}
          api={api}
          id={props.jobId}
          onChange={() => setListVersion((n) => n + 1)}
        />
      )}
      <JobList api={api} refresh={listVersion} />
    </section>
  );
}

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

function JobList({ api, refresh }: { readonly api: Api; readonly refresh: number }) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [nextToken, setNextToken] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    api.listJobs().then(
      (page) => {
        if (!live) return;
        setJobs(page.items);
        setNextToken(page.nextToken);
        setError(undefined);
      },
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [refresh, reload]);

  const more = async () => {
    if (nextToken === undefined) return;
    try {
      const page = await api.listJobs(nextToken);
      setJobs([...jobs, ...page.items]);
      setNextToken(page.nextToken);
    } catch (failure: unknown) {
      setError(failure);
    }
  };

  return (
    <div class="job-list">
      <h3>Recent jobs</h3>
      <div class="actions">
        <button type="button" onClick={() => setReload((n) => n + 1)}>
          Refresh jobs
        </button>
      </div>
      <Alert error={error} />
      {jobs.length === 0 ? (
        <p>No jobs yet.</p>
      ) : (
        <TableScroll label="Jobs, scrollable">
          <table>
            <caption>Jobs</caption>
            <ColumnHeads
              names={["Job", "Kind", "Status", "Matched", "Done", "Failed", "Skipped", "Created"]}
            />
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id}>
                  <td>
                    <a href={`#/jobs/${encodeURIComponent(job.id)}`} class="mono">
                      {job.id}
                    </a>
                  </td>
                  <td>{job.dryRun ? `${job.kind} (dry run)` : job.kind}</td>
                  <td>{job.status}</td>
                  <td>{job.matched}</td>
                  <td>{job.done}</td>
                  <td>{job.failed}</td>
                  <td>{job.skipped}</td>
                  <td>
                    <Time iso={job.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {nextToken !== undefined && (
        <button type="button" onClick={() => void more()}>
          More jobs
        </button>
      )}
    </div>
  );
}
