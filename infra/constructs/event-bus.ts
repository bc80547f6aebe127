import { Duration, Validations } from "aws-cdk-lib";
import { EventBus, type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type DomainEvent, EVENT_SOURCE } from "../../functions/core/outbox.ts";
import { EDIT_REQUESTED } from "../../functions/http/eventbridge.ts";
import { known, Problems } from "./props.ts";
import type { ServiceFunction } from "./service-function.ts";
import type { WorkQueue } from "./work-queue.ts";

/**
 * The detail-types im-edit puts on the bus, and the only ones its functions may put there. An event type
 * the outbox adds must be listed here: the type below stops compiling until it is.
 */
export const PUBLISHED_DETAIL_TYPES = [
  "MessageRecorded",
  "MessageEdited",
  "EditFailed",
] as const satisfies readonly DomainEvent["type"][];
type Unlisted = Exclude<DomainEvent["type"], (typeof PUBLISHED_DETAIL_TYPES)[number]>;
type MustBeTrue<T extends true> = T;
export type EveryPublishedTypeListed = MustBeTrue<[Unlisted] extends [never] ? true : false>;

export interface DomainEventBusProps {
  /**
   * An existing bus, by name (`default`: the account's default bus). Nothing is created on it but the
   * `EditRequested` rule.
   * @default - a bus of this stack's own
   */
  readonly busName?: string;
  /** Where `EditRequested` events are delivered. */
  readonly editQueue: WorkQueue;
}

/**
 * Domain events on EventBridge (`-c events=eventbridge`), out and in.
 *
 * Out: the publishing functions get `EVENT_BUS_NAME` and `events:PutEvents` on this bus alone, for
 * `source: "im-edit"` and im-edit's own detail-types only (`PUBLISHED_DETAIL_TYPES`): they cannot put
 * an `EditRequested` event, so no edit can request another through the bus.
 *
 * In: a rule matching `{ source: ["im-edit"], "detail-type": ["EditRequested"] }` sends the whole event
 * to the edit queue, rather than invoking a function asynchronously: the worker then takes it with
 * retries, partial batch failures and the dead-letter queue like any queued edit. Whole, not just its
 * detail: the worker recognises the envelope (functions/http/eventbridge.ts) and then allows an event
 * only `edit` or `restore` (never `purge`, which a bare queued payload could ask for), and uses the
 * event's id as the default idempotency key. The queue's policy lets only this rule send.
 * What EventBridge cannot deliver to it (after its own retries, up to 24 h) lands whole, with the error
 * in its message attributes, in a dead-letter queue of its own (`undelivered`, alarmed): not the edit
 * queue's, whose redrive moves messages back to the queue they failed in, and these never were in one.
 * Delivery is at least once; a redelivered event has the same id, so it edits once.
 *
 * Cost per million (us-east-1 list prices): out, $1.00 of PutEvents (custom events, 64 KB chunks; the
 * rule's delivery is not charged by EventBridge). In, per million EditRequested: the sender's $1.00 of
 * PutEvents, then SQS requests, $0.40 each for the send, the worker's receive and its delete (batch size
 * 1: $1.20), and a worker invocation each ($0.20 plus its duration).
 *
 * A bus of the stack's own by default rather than the account's default bus: the grant and the rule
 * concern im-edit alone, and a custom bus costs nothing by itself. `-c eventBus=<name>` uses an
 * existing bus instead (`default`, or an organisation's shared bus).
 */
export class DomainEventBus extends Construct {
  readonly bus: IEventBus;
  /** The `EditRequested` rule. */
  readonly editRequested: Rule;
  /** EditRequested events EventBridge could not deliver to the edit queue (whole events, kept 14 days). */
  readonly undelivered: Queue;
  /** Whether the bus belongs to this stack. */
  readonly created: boolean;

  /** EventBridge's rules for a bus name (a partner bus's `aws.` prefix is not ours to use). */
  static problems(busName: string | undefined): readonly string[] {
    return new Problems("DomainEventBus").check(
      busName === undefined ||
        !known(busName) ||
        (/^[/.\-_A-Za-z0-9]{1,256}$/.test(busName) && !busName.startsWith("aws.")),
      `eventBus: ${JSON.stringify(busName)} is not an event bus name (1-256 of A-Z a-z 0-9 . - _ /, not aws.*)`,
    ).list;
  }

  constructor(scope: Construct, id: string, props: DomainEventBusProps) {
    super(scope, id);
    new Problems(`DomainEventBus ${this.node.path}`).add(DomainEventBus.problems(props.busName)).throwIfAny();
    this.created = props.busName === undefined;
    this.bus =
      props.busName === undefined
        ? // EventBus implements IEventBus, but its eventSourceName getter (string | undefined) does not
          // satisfy the interface's optional property under exactOptionalPropertyTypes.
          (new EventBus(this, "Bus", {
            description: "im-edit domain events (out) and EditRequested (in)",
          }) as IEventBus)
        : EventBus.fromEventBusName(this, "Bus", props.busName);

    this.undelivered = new Queue(this, "Undelivered", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.undelivered).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This queue is itself a dead-letter queue: the EditRequested rule's target sends it the events it " +
        "could not deliver to the edit queue (a rule target's DLQ, which cdk-nag does not recognise as one).",
    });
    this.editRequested = new Rule(this, "EditRequested", {
      eventBus: this.bus,
      description: "EditRequested events to im-edit's edit queue",
      eventPattern: { source: [EVENT_SOURCE], detailType: [EDIT_REQUESTED] },
      targets: [new SqsQueue(props.editQueue.queue, { deadLetterQueue: this.undelivered })],
    });
  }

  /** Each function may publish: EVENT_BUS_NAME, and PutEvents on this bus for im-edit's own events only. */
  bindPublishers(...functions: ServiceFunction[]): this {
    for (const fn of functions) {
      fn.setEnvironment("EVENT_BUS_NAME", this.bus.eventBusName);
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ["events:PutEvents"],
          resources: [this.bus.eventBusArn],
          conditions: {
            StringEquals: {
              "events:source": EVENT_SOURCE,
              "events:detail-type": [...PUBLISHED_DETAIL_TYPES],
            },
          },
        }),
      );
    }
    return this;
  }
}
