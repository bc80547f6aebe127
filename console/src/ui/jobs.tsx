/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { readableData } from "../content.ts";
import { apiTime, formatEta, formatRate, progressLine } from "../format.ts";
import type { Job, Readable } from "../schemas.ts";
import { Alert, Status, TableScroll, TextField, Time } from "./common.tsx";
import { ContentDiff } from "./diff-view.tsx";

/** How often a queued or running job is read again. */
export const POLL_MS = 1_000;

export type JobActionKind = "replace" | "redact" | "text";

export interface JobForm {
  readonly provider: string;
  readonly appId: string;
  readonly conversation: string;
  readonly sender: string;
  readonly since: string;
  readonly until: string;
  readonly matchText: string;
  readonly action: JobActionKind;
  readonly find: string;
  readonly replaceWith: string;
  readonly mask: string;
  readonly newText: string;
}

export const EMPTY_JOB: JobForm = {
  provider: "tencent",
  appId: "",
  conversation: "",
  sender: "",
  since: "",
  until: "",
  matchText: "",
  action: "replace",
  find: "",
  replaceWith: "",
  mask: "***",
  newText: "",
};

/**
 * The `POST /v1/edits` body of the form, or what is wrong with it. Without "Match text" a replace or
 * redact selects the messages its Find pattern matches, so the job's counts are about those.
 */
export function jobBodyOf(
  form: JobForm,
  dryRun: boolean,
): { body: Record<string, unknown> } | { problem: string } {
  if (form.provider.trim() === "" || form.appId.trim() === "")
    return { problem: "Provider and App are needed." };
  const since = apiTime(form.since);
  const until = apiTime(form.until);
  if (since === undefined || until === undefined) {
    return { problem: "Since and Until take a date or time (for example 2026-01-31 or 2026-01-31T09:00)." };
  }
  const pattern = form.find;
  if (form.action !== "text" && pattern === "") return { problem: "Find needs a pattern." };
  if (form.action === "text" && form.newText === "") return { problem: "New text needs the text to set." };
  const work =
    form.action === "replace"
      ? { action: { replace: { pattern, with: form.replaceWith } } }
      : form.action === "redact"
        ? { action: { redact: { pattern, mask: form.mask } } }
        : { edit: { text: form.newText } };
  const matchText = form.matchText !== "" ? form.matchText : form.action !== "text" ? pattern : "";
  const optional = {
    conversation: form.conversation.trim(),
    sender: form.sender.trim(),
    since,
    until,
    text: matchText,
  };
  return {
    body: {
      selector: {
        provider: form.provider.trim(),
        appId: form.appId.trim(),
        ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== "")),
      },
      ...work,
      dryRun,
    },
  };
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
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const [listVersion, setListVersion] = useState(0);
  const set = (field: keyof JobForm) => (value: string) => setForm({ ...form, [field]: value });

  const start = async (dryRun: boolean) => {
    if (busy) return;
    const built = jobBodyOf(form, dryRun);
    if ("problem" in built) {
      setError(new Error(built.problem));
      return;
    }
    setBusy(true);
    setError(undefined);
    setStatus(dryRun ? "Starting a dry run…" : "Starting the job…");
    try {
      const accepted = await api.createJob(built.body);
      // Said once, when it is created: the job's own panel below shows its status as it changes.
      setStatus(`${dryRun ? "Dry run" : "Job"} ${accepted.id} created.`);
      setListVersion((n) => n + 1);
      props.openJob(accepted.id);
    } catch (failure: unknown) {
      setStatus("");
      setError(failure);
    } finally {
      setBusy(false);
    }
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
            <TextField
              id="job-provider"
              label="Provider"
              value={form.provider}
              onInput={set("provider")}
              required
              hint="tencent or netease"
            />
            <TextField
              id="job-app"
              label="App"
              value={form.appId}
              onInput={set("appId")}
              required
              hint="SdkAppid or AppKey"
            />
            <TextField
              id="job-conversation"
              label="Conversation"
              value={form.conversation}
              onInput={set("conversation")}
            />
            <TextField id="job-sender" label="Sender" value={form.sender} onInput={set("sender")} />
            <TextField
              id="job-since"
              label="Since"
              value={form.since}
              onInput={set("since")}
              hint="2026-01-31 or 2026-01-31T09:00 (local time)"
            />
            <TextField
              id="job-until"
              label="Until"
              value={form.until}
              onInput={set("until")}
              hint="Default: now"
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
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
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

  const act = async (work: () => Promise<unknown>) => {
    if (busy) return;
    setBusy(true);
    setActionError(undefined);
    try {
      await work();
      acted.current = true;
      setPoll((n) => n + 1);
      onChange();
    } catch (failure: unknown) {
      setActionError(failure);
    } finally {
      setBusy(false);
    }
  };

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
            <div>
              <dt>Status</dt>
              <dd>{job.status}</dd>
            </div>
            <div>
              <dt>Matched</dt>
              <dd>{job.matched}</dd>
            </div>
            <div>
              <dt>Done</dt>
              <dd>{job.done}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{job.failed}</dd>
            </div>
            <div>
              <dt>Skipped</dt>
              <dd>{job.skipped}</dd>
            </div>
            <div>
              <dt>Rate</dt>
              <dd>{formatRate(job.ratePerSec)}</dd>
            </div>
            <div>
              <dt>ETA</dt>
              <dd>{job.etaSeconds !== undefined ? formatEta(job.etaSeconds) : "—"}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>
                <Time iso={job.startedAt ?? job.createdAt} />
              </dd>
            </div>
            {job.finishedAt !== undefined && (
              <div>
                <dt>Finished</dt>
                <dd>
                  <Time iso={job.finishedAt} />
                </dd>
              </div>
            )}
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
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Matched</th>
                <th scope="col">Done</th>
                <th scope="col">Failed</th>
                <th scope="col">Skipped</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
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
