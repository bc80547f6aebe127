import type { SQSEvent, SQSRecord } from "aws-lambda";

/** An SQS record as Lambda's event source hands it over (the fields the consumers read, the rest filler). */
export function sqsRecord(
  body: string,
  options: {
    readonly messageId?: string;
    readonly receiptHandle?: string;
    readonly receiveCount?: number;
    readonly arn?: string;
    readonly region?: string;
  } = {},
): SQSRecord {
  const messageId = options.messageId ?? "m0";
  return {
    messageId,
    receiptHandle: options.receiptHandle ?? messageId,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: "0",
      SenderId: "s",
      ApproximateFirstReceiveTimestamp: "0",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: options.arn ?? "arn:aws:sqs:us-east-1:123456789012:im-edit-EditQueue",
    awsRegion: options.region ?? "us-east-1",
  };
}

/** A batch of bodies, numbered m0, m1, … (receipts r0, r1, …), all at one receive count. */
export function sqsEvent(
  bodies: readonly string[],
  options: { readonly receiveCount?: number; readonly arn?: string; readonly region?: string } = {},
): SQSEvent {
  return {
    Records: bodies.map((body, i) =>
      sqsRecord(body, { ...options, messageId: `m${i}`, receiptHandle: `r${i}` }),
    ),
  };
}
