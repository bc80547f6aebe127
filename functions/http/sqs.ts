import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "../logger.ts";

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: { eventSource?: string }[] } | null)?.Records;
  return Array.isArray(records) && records.every((record) => record.eventSource === "aws:sqs");
}

/**
 * Processes a batch record by record and reports only the failed ones (partial batch response), so one
 * poison message does not send its neighbours back to the queue. `process` throws to have a record retried.
 */
export async function eachRecord(
  event: SQSEvent,
  process: (body: unknown, record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      // Not JSON: retrying cannot help; it goes to the DLQ after maxReceiveCount via failure, so fail it.
      logger.error("queue message is not JSON", { messageId: record.messageId });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      await process(body, record);
    } catch (error: unknown) {
      logger.warn("queue message failed; it will be retried", {
        messageId: record.messageId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
