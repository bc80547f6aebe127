import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { isIntegerIn, known, Problems } from "./props.ts";

export interface WorkQueueProps {
  /** The timeout of the function consuming the queue: the visibility timeout is never below it. */
  readonly consumerTimeout: Duration;
  /**
   * How long a received message stays invisible: also how long a failed one waits before its retry.
   * @default 6 × consumerTimeout (AWS's advice for Lambda event sources, room for throttled retries)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/** SQS's ceiling on a visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

/**
 * An SQS queue with its dead-letter queue: encrypted (SQS-managed keys, no KMS cost), TLS only, and
 * dead letters kept for the maximum 14 days so an operator can inspect and redrive them
 * (`redriveCommand`).
 */
export class WorkQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const consumerSeconds = props.consumerTimeout.toSeconds();
    const visibilitySeconds = props.visibilityTimeout?.toSeconds() ?? consumerSeconds * 6;
    const visibilityKnown = known(consumerSeconds) && known(visibilitySeconds);
    new Problems(`WorkQueue ${this.node.path}`)
      .check(isIntegerIn(maxReceiveCount, 1, 1000), `maxReceiveCount: ${maxReceiveCount} is not in 1-1000`)
      .check(
        !visibilityKnown || visibilitySeconds <= MAX_VISIBILITY_SECONDS,
        props.visibilityTimeout === undefined
          ? `consumerTimeout: ${props.consumerTimeout.toHumanString()} gives a visibility timeout over SQS's 12 h`
          : `visibilityTimeout: ${props.visibilityTimeout.toHumanString()} is over SQS's 12 h`,
      )
      .check(
        !visibilityKnown || visibilitySeconds >= consumerSeconds,
        `visibilityTimeout: ${props.visibilityTimeout?.toHumanString()} is below the consumer's timeout ` +
          `(${props.consumerTimeout.toHumanString()}); Lambda refuses such an event source`,
      )
      .throwIfAny();

    this.visibilityTimeout = Duration.seconds(visibilitySeconds);
    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.deadLetterQueue = new Queue(this, "DeadLetters", { ...common, retentionPeriod: Duration.days(14) });
    this.queue = new Queue(this, "Queue", {
      ...common,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }

  /**
   * The AWS CLI command that moves every dead letter back to this queue (SQS's redrive: without
   * `--destination-arn` a message returns to the queue it came from). Fix what failed them first.
   */
  get redriveCommand(): string {
    return `aws sqs start-message-move-task --source-arn ${this.deadLetterQueue.queueArn}`;
  }
}
