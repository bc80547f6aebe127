import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { asError } from "../../core/errors.ts";
import {
  type DomainEvent,
  EventsNotDelivered,
  forDelivery,
  type Outbox,
  withoutContent,
} from "../../core/outbox.ts";
import { batches } from "./batches.ts";

/** SQS takes at most 10 messages and 256 KB per SendMessageBatch (bodies plus attributes, roughly). */
const BATCH = 10;
const MAX_BYTES = 256 * 1024;
/** The `type` attribute's name, data type and value, with room to spare. */
const ATTRIBUTE_BYTES = 64;

interface Pending {
  readonly event: DomainEvent;
  readonly body: string;
}

/**
 * The outbox in AWS with `-c events=sqs`: one SQS message per domain event (`MessageAttributes.type` for
 * filtering consumers), sent in batches of at most 10 messages and 256 KB. Events carry ids, never
 * content, unless the deployment opted in (EVENTS_INCLUDE_CONTENT; content that would not fit a message is
 * left out, `contentOmitted`). Entries SQS did not take fail the publish with `EventsNotDelivered` naming
 * them (reported as `PublishFailed`; nothing retries them: at most once until the relay issue's durable
 * forward queue).
 */
export class SqsOutbox implements Outbox {
  constructor(
    private readonly client: Pick<SQSClient, "send">,
    private readonly queueUrl: string,
    private readonly options: { readonly includeContent?: boolean } = {},
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const pending = events.map((event) => this.pending(event));
    const sizeOf = (p: Pending) => Buffer.byteLength(p.body) + ATTRIBUTE_BYTES;
    const results = await Promise.all(
      batches(pending, { maxCount: BATCH, maxBytes: MAX_BYTES }, sizeOf).map((batch) => this.send(batch)),
    );
    const failed = results.flatMap((result) => result.failed);
    if (failed.length > 0) {
      const codes = [...new Set(results.flatMap((result) => result.codes))].join(", ");
      throw new EventsNotDelivered(
        `SQS did not take ${failed.length} of ${events.length} events (${codes})`,
        failed.map((p) => p.event),
      );
    }
  }

  private pending(event: DomainEvent): Pending {
    const delivered = forDelivery(event, this.options.includeContent ?? false);
    const body = JSON.stringify(delivered);
    if (Buffer.byteLength(body) + ATTRIBUTE_BYTES <= MAX_BYTES) return { event, body };
    return { event, body: JSON.stringify(withoutContent(delivered)) };
  }

  private async send(batch: readonly Pending[]): Promise<{ failed: Pending[]; codes: string[] }> {
    try {
      const answer = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((p, index) => ({
            Id: String(index),
            MessageBody: p.body,
            MessageAttributes: { type: { DataType: "String", StringValue: p.event.type } },
          })),
        }),
      );
      const failed = answer.Failed ?? [];
      return {
        failed: batch.filter((_, index) => failed.some((entry) => entry.Id === String(index))),
        codes: [...new Set(failed.map((entry) => entry.Code ?? "unknown"))],
      };
    } catch (thrown: unknown) {
      return { failed: [...batch], codes: [asError(thrown).name] };
    }
  }
}

/**
 * The events queue's outbox with its own client: short timeouts (enforced) and one retry, since a callback waits for
 * the publish (within the publish budget) before it answers the provider.
 */
export function createSqsOutbox(
  region: string,
  queueUrl: string,
  options: { readonly includeContent?: boolean } = {},
): SqsOutbox {
  const client = new SQSClient({
    region,
    maxAttempts: 2,
    // smithy only warns about a request over its timeout unless told to throw.
    requestHandler: { connectionTimeout: 200, requestTimeout: 400, throwOnRequestTimeout: true },
  });
  return new SqsOutbox(client, queueUrl, options);
}
