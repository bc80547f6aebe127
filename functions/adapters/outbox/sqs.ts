import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DomainEvent, Outbox } from "../../core/outbox.ts";

/** SQS takes at most 10 messages per SendMessageBatch. */
const BATCH = 10;

/**
 * The outbox in AWS with `-c events=sqs`: one SQS message per domain event (`MessageAttributes.type` for
 * filtering consumers), sent in batches of 10. Events carry ids, never content, so a message stays far
 * under SQS's 256 KB. Any entry SQS did not take fails the publish (reported as `PublishFailed`; nothing
 * retries it: at most once until the relay issue's durable forward queue).
 */
export class SqsOutbox implements Outbox {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const sends: Promise<void>[] = [];
    for (let start = 0; start < events.length; start += BATCH) {
      sends.push(this.send(events.slice(start, start + BATCH)));
    }
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) throw failed[0]?.reason;
  }

  private async send(events: readonly DomainEvent[]): Promise<void> {
    const answer = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: events.map((event, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(event),
          MessageAttributes: { type: { DataType: "String", StringValue: event.type } },
        })),
      }),
    );
    const failed = answer.Failed ?? [];
    if (failed.length > 0) {
      const codes = [...new Set(failed.map((entry) => entry.Code ?? "unknown"))].join(", ");
      throw new Error(`SQS did not take ${failed.length} of ${events.length} events (${codes})`);
    }
  }
}

/**
 * The events queue's outbox with its own client: short timeouts and one retry, since a callback waits for
 * the publish (within the publish budget) before it answers the provider.
 */
export function createSqsOutbox(region: string, queueUrl: string): SqsOutbox {
  const client = new SQSClient({
    region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 200, requestTimeout: 400 },
  });
  return new SqsOutbox(client, queueUrl);
}
