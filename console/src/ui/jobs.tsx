/** @jsxImportSource preact */
import { useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { EMPTY_SELECTOR, type SelectorValues, selectorOf } from "../selector.ts";
import { useAction } from "./action.ts";
import { Alert, SelectorFields, Status, TextField } from "./common.tsx";
import { JobList } from "./job-list.tsx";
import { JobPanel } from "./job-panel.tsx";

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
