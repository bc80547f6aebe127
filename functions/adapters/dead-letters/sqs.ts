import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DeadLetterReason, type DeadLetters, deadLetterReason } from "../../core/dead-letters.ts";

/**
 * The dead-letter port in AWS: SendMessage to the queue's DLQ, the body exactly as it was received (a
 * redrive, `aws sqs start-message-move-task`, replays it as is) and the reason as message attributes:
 * `reason-code`, `reason`, `status` and `receive-count` (when known) and `source-queue`. Read them with
 * `aws sqs receive-message --queue-url <dlq url> --attribute-names All --message-attribute-names All`.
 */
export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly client: Pick<SQSClient, "send">,
    private readonly queueUrl: string,
  ) {}

  async put(body: string, given: DeadLetterReason): Promise<void> {
    const reason = deadLetterReason(given);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageAttributes: reasonAttributes(reason),
      }),
    );
  }
}

/** The reason as SQS message attributes (values are never empty: SQS refuses empty ones). */
export function reasonAttributes(reason: DeadLetterReason): Record<string, MessageAttributeValue> {
  const text = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });
  const number = (value: number): MessageAttributeValue => ({
    DataType: "Number",
    StringValue: String(value),
  });
  return {
    "reason-code": text(reason.code),
    reason: text(reason.message),
    ...(reason.status !== undefined ? { status: number(reason.status) } : {}),
    ...(reason.receiveCount !== undefined ? { "receive-count": number(reason.receiveCount) } : {}),
    "source-queue": text(reason.source),
  };
}
