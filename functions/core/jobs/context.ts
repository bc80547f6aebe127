import type { ContentCodec } from "../codec.ts";
import type { EditService } from "../edits.ts";
import type { Clock } from "../limiter.ts";
import type { ProviderName } from "../model.ts";
import type { Outbox } from "../outbox.ts";
import type { ProviderEditor } from "../provider.ts";
import type { MessageQueries } from "../queries.ts";
import type { MessageStore } from "../store.ts";
import type { WorkQueue } from "../work.ts";
import type { JobRules } from "./actions.ts";
import type { Cursor } from "./checkpoint.ts";
import type { Job, JobCounts, JobStore, PreviewItem } from "./model.ts";

export interface JobOptions {
  /** Provider calls a job keeps in flight. */
  readonly concurrency: number;
  /** How long one run (a slice) goes before it checkpoints and queues the rest (a Lambda's timeout). */
  readonly sliceMs: number;
  /** How often the runner writes its progress and renews its heartbeat. */
  readonly heartbeatMs: number;
  /** A heartbeat older than this is a dead runner: its job is taken over. */
  readonly staleMs: number;
  /** How often the runner reads its job to notice a cancel from another process. */
  readonly pollMs: number;
  /** Messages per listing page (the checkpoint is taken after each). */
  readonly pageSize: number;
  /** How long a message that stays busy (lease held, outcome unknown) is retried before it fails. */
  readonly retryMs: number;
  /** How long a cancel waits for the runner to acknowledge it (then its heartbeat is stale anyway). */
  readonly cancelWaitMs: number;
  /**
   * Busy messages the checkpoint keeps for a retry after the last page (their ids are in the job item);
   * past it a busy message is retried in place, so the job item stays small through a provider outage.
   */
  readonly laterLimit: number;
}

export const DEFAULT_JOB_OPTIONS: JobOptions = {
  concurrency: 16,
  sliceMs: 600_000,
  heartbeatMs: 1_000,
  staleMs: 10_000,
  pollMs: 250,
  pageSize: 100,
  retryMs: 120_000,
  cancelWaitMs: 2_000,
  laterLimit: 1_000,
};

export interface JobContext {
  readonly store: JobStore & MessageStore;
  readonly queries: MessageQueries;
  readonly edits: Pick<EditService, "apply">;
  readonly editors: ReadonlyMap<ProviderName, ProviderEditor>;
  readonly codecOf: (provider: ProviderName) => ContentCodec | undefined;
  readonly rules: JobRules;
  readonly work: WorkQueue;
  /** Where reconciled records are announced (`MessageRecorded`, source `reconcile`). */
  readonly outbox?: Outbox;
  readonly clock: Clock;
  readonly options: JobOptions;
  /** Where the runner reports what went wrong outside a request (logged by the wiring). */
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * What one run shares with its passes (edit, reconcile) and the per-message step: the job as last
 * written, the checkpoint and counts they move, and the run's stop, progress and counting.
 */
export interface RunState {
  readonly ctx: JobContext;
  readonly job: Job;
  readonly signal: AbortSignal;
  readonly startedAt: number;
  cursor: Cursor;
  counts: JobCounts;
  readonly preview: PreviewItem[];
  shouldStop(): boolean;
  save(final: boolean): Promise<void>;
  count(field: "done" | "failed" | "skipped"): void;
  failed(error: unknown): "failed";
  tick(): void;
  pause(ms: number): Promise<void>;
}
