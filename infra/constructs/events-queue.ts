import { Duration, Validations } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { ServiceFunction } from "./service-function.ts";

/**
 * Where domain events go (`MessageRecorded`, `MessageEdited`, `EditFailed`: ids, never content unless
 * the deployment opts in), per million events published:
 * - `off`: none, the default ($0).
 * - `sqs`: an SQS queue the recorder, the editor and the worker publish to (`EVENTS_QUEUE_URL`):
 *   one SendMessage each, $0.40.
 * - `eventbridge`: an EventBridge bus (`EVENT_BUS_NAME`, see `DomainEventBus`): one PutEvents entry
 *   each, $1.00 (custom events, 64 KB chunks; delivery to rules' targets is not charged by EventBridge).
 *   `EditRequested` events on the bus are also delivered to the edit queue.
 */
export type EventsMode = "off" | "sqs" | "eventbridge";
export const EVENTS_MODES: readonly EventsMode[] = ["off", "sqs", "eventbridge"];

/**
 * The events queue: encrypted (SQS-managed keys, no KMS cost), TLS only, kept 4 days. im-edit only
 * publishes to it (`sqs:SendMessage`, which also authorizes SendMessageBatch); a consumer brings its
 * own redrive policy. Delivery is at most once until the relay issue's durable forward queue.
 */
export class EventsQueue extends Construct {
  readonly queue: Queue;

  static problems(events: unknown): string[] {
    return events === undefined || EVENTS_MODES.includes(events as EventsMode)
      ? []
      : [`events: ${JSON.stringify(events)} is not one of ${EVENTS_MODES.join(", ")}`];
  }

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
    });
    Validations.of(this.queue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "Publish-only queue: im-edit never receives from it, so nothing here can fail a message into a dead-letter " +
        "queue; the consumer that reads events sets the redrive policy and DLQ that fit its own retries.",
    });
  }

  /** Each function may publish: `sqs:SendMessage` on this queue only, and EVENTS_QUEUE_URL. */
  bindPublishers(...functions: ServiceFunction[]): this {
    for (const fn of functions) fn.bindQueueSender("EVENTS_QUEUE_URL", this.queue);
    return this;
  }
}
