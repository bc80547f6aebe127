import { randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { DeadLetterPolicy, DeadLetterReason } from "../functions/core/dead-letters.ts";
import { type HttpResult, json } from "../functions/http/respond.ts";

/** The local stand-in for the edit queue's event source: one message in, the worker's consumer runs it. */
export const LOCAL_QUEUE_PATH = "/_local/queue";

/** What the worker's consumer (functions/editor.ts `consumeQueue`) takes. */
export type QueueConsumer = (event: SQSEvent, policy: DeadLetterPolicy) => Promise<SQSBatchResponse>;

/** SQS's cap on a message body. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * `POST /_local/queue` (bearer token): the raw body is one edit-queue message, delivered now as Lambda's
 * SQS event source would deliver it to the worker (a direct-invoke payload or an EditRequested envelope).
 * The answer says how it settled: `done`, `dead-lettered` (put in `DATA_DIR/dead-letters` with `reason`)
 * or `retry` (SQS would deliver it again). `npm run redrive -- --replay` sends dead letters back this way.
 */
export function localQueueRoute(
  consume: QueueConsumer,
  policy: () => DeadLetterPolicy,
): (body: Buffer) => Promise<HttpResult> {
  return async (raw) => {
    if (raw.length === 0 || raw.length > MAX_BODY_BYTES) {
      return json(400, {
        error: {
          code: "validation_failed",
          message: `send one queue message body of 1 to ${MAX_BODY_BYTES} bytes`,
        },
      });
    }
    const messageId = randomUUID();
    const given = policy();
    let reason: DeadLetterReason | undefined;
    const watched: DeadLetterPolicy = {
      ...given,
      ...(given.letters
        ? {
            letters: {
              put: async (letter, why) => {
                await given.letters?.put(letter, why);
                reason = why;
              },
            },
          }
        : {}),
    };
    const result = await consume(sqsEvent(messageId, raw.toString("utf8")), watched);
    const retry = result.batchItemFailures.length > 0;
    return json(200, {
      messageId,
      outcome: retry ? "retry" : reason ? "dead-lettered" : "done",
      ...(reason ? { reason } : {}),
    });
  };
}

function sqsEvent(messageId: string, body: string): SQSEvent {
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId,
        receiptHandle: messageId,
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: now,
          SenderId: "local",
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "local:edit-queue",
        awsRegion: "local",
      },
    ],
  };
}
