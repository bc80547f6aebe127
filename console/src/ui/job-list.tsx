/** @jsxImportSource preact */
import { useEffect, useState } from "preact/hooks";
import type { Api } from "../api.ts";
import type { Job } from "../schemas.ts";
import { Alert, ColumnHeads, TableScroll, Time } from "./common.tsx";

/** The recent jobs as the API lists them, read again when a job starts or changes status. */
export function JobList({ api, refresh }: { readonly api: Api; readonly refresh: number }) {
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
