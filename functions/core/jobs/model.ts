import type { ProviderName } from "../model.ts";
import type { Page, PageRequest } from "../store.ts";

/**
 * Bulk jobs (`POST /v1/edits`, `POST /v1/reconcile`): one item per job, written whole under optimistic
 * concurrency (`rev`), holding its spec, counters, checkpoint and the runner's heartbeat. Provider- and
 * transport-neutral: the HTTP layer renders it (`GET /v1/edits/{id}`).
 */
export type JobStatus = "queued" | "running" | "cancelled" | "done" | "failed";
export type JobKind = "edit" | "reconcile";

/** Which recorded messages a job visits (`[since, until)` on the provider's send time). */
export interface JobSelector {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly conversation?: string;
  readonly sender?: string;
  /** ISO timestamps, inclusive / exclusive. */
  readonly since?: string;
  readonly until?: string;
  /** A pattern on the message's text (linear-time engine, as rules use). */
  readonly text?: string;
}

/** What a job does to each message: exactly one of an edit body, a rule by id, or a rule action. */
export type JobWork =
  | { readonly edit: Readonly<Record<string, unknown>> }
  | { readonly rule: string }
  | { readonly action: Readonly<Record<string, unknown>> };

/** A reconcile job: the provider's history of one conversation over `[since, until)`. */
export interface ReconcileSpec {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly pair?: readonly [string, string];
  readonly groupId?: string;
  readonly topicId?: string;
  readonly since: string;
  readonly until: string;
}

export interface JobCounts {
  readonly matched: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A dry run's view of one message (text and custom data as a person reads them). */
export interface PreviewItem {
  readonly id: string;
  readonly before: Readonly<Record<string, unknown>>;
  readonly after: Readonly<Record<string, unknown>>;
}

export interface Job {
  /** `job_` + a time-sortable suffix: ids sort by creation. */
  readonly id: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  readonly dryRun: boolean;
  readonly selector?: JobSelector;
  readonly work?: JobWork;
  readonly reconcile?: ReconcileSpec;
  readonly actor: string;
  readonly counts: JobCounts;
  /** The opaque checkpoint the runner goes on from (a list or history page token, a phase). */
  readonly cursor?: string;
  readonly preview?: readonly PreviewItem[];
  /** The runner working on it and until when its heartbeat holds (epoch ms); a stale one is taken over. */
  readonly runner?: { readonly owner: string; readonly until: number };
  /** Why it failed, when it did (no secret, no content). */
  readonly error?: string;
  /** Provider calls per second over the recent past, as the runner measured it. */
  readonly ratePerSec?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly rev: number;
}

/**
 * The job port: every method is one store call on the embedded store. On DynamoDB the active set is kept
 * apart from the jobs (a marker per queued or running job), so `createJob` is 2 calls, `putJob` 1 (2 when a
 * job finishes, 3 when one is resumed) and `activeJobs` 1 + ceil(active / 100), whatever number of finished
 * jobs the store keeps (functions/adapters/dynamodb/jobs.ts).
 */
export interface JobStore {
  /** Creates the job; false when the id exists. */
  createJob(job: Job): Promise<boolean>;
  getJob(id: string): Promise<Job | undefined>;
  /** Newest first. */
  listJobs(page: PageRequest): Promise<Page<Job>>;
  /** Writes the whole job if it is still at `expectedRev` (the new one carries `expectedRev + 1`); false otherwise. */
  putJob(job: Job, expectedRev: number): Promise<boolean>;
  /** Jobs in state `queued` or `running` (a restart takes over those whose runner's heartbeat is stale). */
  activeJobs(): Promise<Job[]>;
}
