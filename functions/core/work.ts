/**
 * Work the editor does later, outside the request that asked for it: the same payloads as a direct
 * invoke (`{ "action": "resolve", "target": { "id": … } }` for an unknown outcome, after-send rules, a
 * bulk job's next slice). The edit queue (SQS) in AWS, consumed by the editor with partial batch
 * failures and a DLQ; in-process locally. At least once: every consumer is idempotent.
 */
export interface WorkTask {
  readonly action: string;
  readonly [field: string]: unknown;
}

export interface WorkQueue {
  /** Durable once resolved (in AWS); `delayMs` up to 15 minutes. */
  enqueue(task: WorkTask, delayMs?: number): Promise<void>;
}

/** Runs a task of one action; throws to have it retried (in-process: logged, as SQS would redeliver). */
export type WorkConsumer = (task: WorkTask) => Promise<unknown>;
