import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Job, JobStore } from "../../core/jobs/model.ts";
import { InvalidPageTokenError, type Page, type PageRequest } from "../../core/store.ts";
import { decodeToken, encodeToken, fingerprint, pageSize } from "./rows.ts";

/** Every job listing continues only a job listing. */
const SCOPE = fingerprint(["jobs"]);

/**
 * Bulk jobs on SQLite: one row per job (`id`, `status` and `rev` as columns for the conditions and the
 * active-job index, the whole job as JSON), each method one statement. Listed newest first by id (job ids
 * sort by creation, functions/core/jobs/ids.ts). Retention does not apply: a job row stays until deleted.
 */
export class SqliteJobs implements JobStore {
  private readonly insert: StatementSync;
  private readonly select: StatementSync;
  private readonly update: StatementSync;
  private readonly selectFirstPage: StatementSync;
  private readonly selectPageAfter: StatementSync;
  private readonly selectActive: StatementSync;

  constructor(db: DatabaseSync) {
    this.insert = db.prepare(
      "INSERT INTO jobs (id, status, rev, data) VALUES (:id, :status, :rev, :data) ON CONFLICT (id) DO NOTHING",
    );
    this.select = db.prepare("SELECT rev, data FROM jobs WHERE id = :id");
    this.update = db.prepare(
      "UPDATE jobs SET status = :status, rev = :rev, data = :data WHERE id = :id AND rev = :expected",
    );
    this.selectFirstPage = db.prepare("SELECT id, rev, data FROM jobs ORDER BY id DESC LIMIT :limit");
    this.selectPageAfter = db.prepare(
      "SELECT id, rev, data FROM jobs WHERE id < :cursor ORDER BY id DESC LIMIT :limit",
    );
    this.selectActive = db.prepare(
      "SELECT rev, data FROM jobs WHERE status IN ('queued', 'running') ORDER BY id DESC",
    );
  }

  async createJob(job: Job): Promise<boolean> {
    return this.insert.run(params(job, job.rev)).changes === 1;
  }

  async getJob(id: string): Promise<Job | undefined> {
    const row = this.select.get({ id }) as JobRow | undefined;
    return row ? jobFrom(row) : undefined;
  }

  async listJobs(page: PageRequest): Promise<Page<Job>> {
    const limit = pageSize(page.limit);
    let rows: (JobRow & { id: string })[];
    if (page.nextToken === undefined) {
      rows = this.selectFirstPage.all({ limit: limit + 1 }) as unknown as (JobRow & { id: string })[];
    } else {
      const cursor = decodeToken(page.nextToken, SCOPE);
      if (typeof cursor !== "string") throw new InvalidPageTokenError();
      rows = this.selectPageAfter.all({ cursor, limit: limit + 1 }) as unknown as (JobRow & {
        id: string;
      })[];
    }
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map(jobFrom),
      ...(rows.length > limit && last ? { nextToken: encodeToken(SCOPE, last.id) } : {}),
    };
  }

  async putJob(job: Job, expectedRev: number): Promise<boolean> {
    // The stored job carries expectedRev + 1 whatever the caller set: revs only move forward by one.
    return this.update.run({ ...params(job, expectedRev + 1), expected: expectedRev }).changes === 1;
  }

  async activeJobs(): Promise<Job[]> {
    return (this.selectActive.all() as unknown as JobRow[]).map(jobFrom);
  }
}

interface JobRow {
  readonly rev: number;
  readonly data: string;
}

function params(job: Job, rev: number): { id: string; status: string; rev: number; data: string } {
  return { id: job.id, status: job.status, rev, data: JSON.stringify({ ...job, rev }) };
}

function jobFrom(row: JobRow): Job {
  return { ...(JSON.parse(row.data) as Job), rev: row.rev };
}
