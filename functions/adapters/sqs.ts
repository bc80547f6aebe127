import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FallbackQueue, SpooledCallback } from "../core/durable.ts";

/** The functions' SQS module (functions/queues.ts: the SDK and these adapters). */
type SqsModule = typeof import("../queues.ts");

/**
 * The SQS client and the module that sends on it, loaded on first use (wiring/queues.ts `lazySqs`: the SDK
 * is not in a function's cold import). `Used`: the parts of the module a consumer calls (all by default),
 * so any loader of functions/queues.ts fits.
 */
export type LazySqs<Used extends keyof SqsModule = keyof SqsModule> = () => Promise<{
  readonly client: SQSClient;
  readonly adapter: Pick<SqsModule, Used>;
}>;

/** The recorder's durable fallback in AWS: the spooled callback as one SQS message, drained by the recorder. */
export class SqsFallbackQueue implements FallbackQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(entry: SpooledCallback): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(entry) }),
    );
  }
}

/** A received message comes back after `seconds` (a retry's backoff, instead of the visibility timeout). */
export async function changeVisibility(
  client: Pick<SQSClient, "send">,
  queueUrl: string,
  receiptHandle: string,
  seconds: number,
): Promise<void> {
  await client.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: seconds,
    }),
  );
}

/** Sends a task to the editor's queue, optionally delayed (SQS allows up to 15 minutes). */
export async function sendTask(
  client: SQSClient,
  queueUrl: string,
  task: unknown,
  delayMs = 0,
): Promise<void> {
  const DelaySeconds = Math.min(900, Math.ceil(delayMs / 1000));
  await client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(task), DelaySeconds }),
  );
}
