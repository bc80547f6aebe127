import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type DeadLetterPolicy, type DeadLetterReason, deadLetterReason } from "../core/dead-letters.ts";
import { AppError, asError } from "../core/errors.ts";
import { logger } from "../logger.ts";
import { count } from "../metrics.ts";

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: { eventSource?: string }[] } | null)?.Records;
  return Array.isArray(records) && records.every((record) => record.eventSource === "aws:sqs");
}

/** What a consumer says about a failure: a code, our own message (never content), a status when known. */
export interface FailureReason {
  readonly code: string;
  readonly message: string;
  readonly status?: number;
}

/** Thrown by a consumer for a message retrying cannot help (refused, malformed): dead-lettered at once. */
export class PoisonMessage extends Error {
  override readonly name = "PoisonMessage";
  constructor(readonly reason: FailureReason) {
    super(reason.message);
  }
}

/** Thrown by a consumer for a message worth another delivery, with the reason it carries if it runs out. */
export class RetryableFailure extends Error {
  override readonly name = "RetryableFailure";
  constructor(readonly reason: FailureReason) {
    super(reason.message);
  }
}

/** Counted whenever a message is put in its dead letters (the DLQ's own alarm fires on it too). */
export const DEAD_LETTERED_METRIC = "MessageDeadLettered";

/**
 * Processes a batch record by record and reports only the records to retry (partial batch response), so
 * one poison message does not send its neighbours back to the queue. `process` throws to fail a record:
 * - a body that is not JSON, or a `PoisonMessage`: put in the dead letters with the reason, then
 *   acknowledged (retrying cannot change it);
 * - anything else is retried (reported in `batchItemFailures`), until the receive that reaches the
 *   policy's `maxReceives`: then it is dead-lettered with that last error as its reason and acknowledged,
 *   so even exhausted retries say why.
 * A letter that cannot be put (or a policy without dead letters) leaves the record failed: it stays on its
 * queue, and SQS's redrive policy moves it to the DLQ at the end. Never lost.
 */
export async function eachRecord(
  event: SQSEvent,
  process: (body: unknown, record: SQSRecord) => Promise<unknown>,
  policy: DeadLetterPolicy,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    const settled = await processRecord(record, process, policy);
    if (settled === "retry") batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
}

/** `done` (processed, or dead-lettered with its reason) or `retry` (left on the queue). */
export type RecordSettlement = "done" | "dead-lettered" | "retry";

async function processRecord(
  record: SQSRecord,
  process: (body: unknown, record: SQSRecord) => Promise<unknown>,
  policy: DeadLetterPolicy,
): Promise<RecordSettlement> {
  const receiveCount = receiveCountOf(record);
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    const reason = { code: "not_json", message: "the message body is not JSON" };
    return deadLetter(record, policy, reason, receiveCount, "poison");
  }
  try {
    await process(body, record);
    return "done";
  } catch (thrown: unknown) {
    if (thrown instanceof PoisonMessage) {
      return deadLetter(record, policy, thrown.reason, receiveCount, "poison");
    }
    const reason = failureReason(thrown);
    if (receiveCount >= policy.maxReceives) {
      return deadLetter(record, policy, reason, receiveCount, "exhausted");
    }
    const retryInSeconds = await backOff(record, policy, receiveCount);
    logger.warn("queue message failed; it will be retried", {
      messageId: record.messageId,
      receiveCount,
      ...(retryInSeconds !== undefined ? { retryInSeconds } : {}),
      code: reason.code,
      ...(reason.status !== undefined ? { status: reason.status } : {}),
      error: reason.message,
    });
    return "retry";
  }
}

async function deadLetter(
  record: SQSRecord,
  policy: DeadLetterPolicy,
  failure: FailureReason,
  receiveCount: number,
  why: "poison" | "exhausted",
): Promise<RecordSettlement> {
  const reason: DeadLetterReason = deadLetterReason({
    ...failure,
    receiveCount,
    source: record.eventSourceARN || policy.source,
  });
  const fields = { messageId: record.messageId, why, reason };
  if (!policy.letters) {
    // No dead letters here: the queue's redrive policy takes it after its last receive (without the reason).
    logger.error("queue message failed; no dead-letter queue configured, left on its queue", fields);
    return "retry";
  }
  try {
    await policy.letters.put(record.body, reason);
  } catch (thrown: unknown) {
    const error = asError(thrown);
    logger.error("queue message could not be dead-lettered; left on its queue", {
      ...fields,
      error: `${error.name}: ${error.message}`,
    });
    return "retry";
  }
  count(DEAD_LETTERED_METRIC);
  logger.error("queue message dead-lettered", fields);
  return "dead-lettered";
}

/** A thrown error as a reason: our typed errors keep their code; anything else is named, not detailed. */
export function failureReason(thrown: unknown): FailureReason {
  if (thrown instanceof PoisonMessage || thrown instanceof RetryableFailure) return thrown.reason;
  if (thrown instanceof AppError) return { code: thrown.code, message: thrown.message };
  const error = asError(thrown);
  return { code: "unexpected", message: `${error.name}: ${error.message}` };
}

/** A retry's wait, seconds: at least this, and at most `MAX_RETRY_DELAY_S`. */
export const MIN_RETRY_DELAY_S = 5;
export const MAX_RETRY_DELAY_S = 60;

/**
 * How long a retried message waits for its next receive: doubling with the receive count (5, 10, 20, 40,
 * then 60 s at most), jittered over the upper half of that so messages that failed together do not come
 * back together. A rate-limited or busy queued edit is tried again within a minute, not after the queue's
 * visibility timeout (18 minutes on the edit queue, sized for a job slice).
 */
export function retryDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_S, MIN_RETRY_DELAY_S * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(MIN_RETRY_DELAY_S, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

/** Sets the record's backoff when the policy can: best effort (else it waits the visibility timeout). */
async function backOff(
  record: SQSRecord,
  policy: DeadLetterPolicy,
  receiveCount: number,
): Promise<number | undefined> {
  if (!policy.retryAfter || !record.receiptHandle) return undefined;
  const seconds = retryDelaySeconds(receiveCount);
  try {
    await policy.retryAfter(record.receiptHandle, seconds);
    return seconds;
  } catch (thrown: unknown) {
    const error = asError(thrown);
    logger.warn("queue message's retry delay could not be set; it comes back after the visibility timeout", {
      messageId: record.messageId,
      error: `${error.name}: ${error.message}`,
    });
    return undefined;
  }
}

/** SQS's ApproximateReceiveCount (1 on the first delivery; 1 when absent). */
function receiveCountOf(record: SQSRecord): number {
  const count = Number.parseInt(record.attributes?.ApproximateReceiveCount ?? "", 10);
  return Number.isFinite(count) && count > 0 ? count : 1;
}
