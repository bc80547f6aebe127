import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { isIntegerIn, known, Problems } from "./props.ts";
import type { ServiceFunction } from "./service-function.ts";

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
  /** Receives before SQS moves a message to the dead-letter queue. */
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    this.maxReceiveCount = maxReceiveCount;
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
   * The consumer puts what it gives up on in the dead-letter queue itself, with the reason as message
   * attributes (a refusal at once, a retryable failure on its last receive): `<prefix>_DLQ_URL` and
   * sqs:SendMessage on the dead-letter queue alone, and `<prefix>_QUEUE_MAX_RECEIVES` (this queue's
   * maxReceiveCount, the receive on which it stops retrying).
   */
  bindDeadLetterSender(fn: ServiceFunction, prefix: "EDIT" | "FALLBACK" | "FORWARD"): this {
    fn.bindQueueSender(`${prefix}_DLQ_URL`, this.deadLetterQueue).setEnvironment(
      `${prefix}_QUEUE_MAX_RECEIVES`,
      String(this.maxReceiveCount),
    );
    return this;
  }

  /**
   * The AWS CLI command that moves every dead letter back to this queue (SQS's redrive), each with its
   * original body. The destination is named: without `--destination-arn` SQS returns a message to the
   * queue its redrive policy moved it from, which the letters a consumer put there itself (those carrying a
   * reason) do not have. Fix what failed them first.
   */
  get redriveCommand(): string {
    return `aws sqs start-message-move-task --source-arn ${this.deadLetterQueue.queueArn} --destination-arn ${this.queue.queueArn}`;
  }
}
