import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { isIntegerIn, known, Problems } from "./props.ts";

export interface WorkQueueProps {
  /**
   * The timeout of the function consuming the queue: a message stays invisible for 6 times it
   * (AWS's advice for Lambda event sources), so a batch being retried is not handed out twice.
   */
  readonly consumerTimeout: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * An SQS queue with its dead-letter queue: encrypted (SQS-managed keys, no KMS cost), TLS only, and
 * dead letters kept for the maximum 14 days so an operator can inspect and redrive them.
 */
export class WorkQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const consumerSeconds = props.consumerTimeout.toSeconds();
    new Problems(`WorkQueue ${this.node.path}`)
      .check(isIntegerIn(maxReceiveCount, 1, 1000), `maxReceiveCount: ${maxReceiveCount} is not in 1-1000`)
      .check(
        !known(consumerSeconds) || consumerSeconds * 6 <= 12 * 3600,
        `consumerTimeout: ${props.consumerTimeout.toHumanString()} gives a visibility timeout over SQS's 12 h`,
      )
      .throwIfAny();

    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.deadLetterQueue = new Queue(this, "DeadLetters", { ...common, retentionPeriod: Duration.days(14) });
    this.queue = new Queue(this, "Queue", {
      ...common,
      visibilityTimeout: Duration.seconds(consumerSeconds * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}
