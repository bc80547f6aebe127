/**
 * Why a queue message was given up on. It travels beside the message (SQS message attributes, or the
 * local letter's file), so it holds codes, statuses and our own error messages only: never the
 * message's content or a secret.
 */
export interface DeadLetterReason {
  /** A domain or provider code (`not_found`, `validation_failed`, `not_json`, `rate_limited`, ...). */
  readonly code: string;
  /** What went wrong, in our words (bounded: `MAX_REASON_LENGTH`). */
  readonly message: string;
  /** The status the operation answered (the HTTP contract's), when it answered one. */
  readonly status?: number;
  /** The receive on which it was given up (SQS's ApproximateReceiveCount). */
  readonly receiveCount?: number;
  /** The queue it came from: its ARN in AWS, a name locally. */
  readonly source: string;
}

/**
 * The dead-letter port: where a queue consumer puts a message it will not process, with the reason. The
 * body is kept exactly as received, so replaying it (SQS's redrive, `npm run redrive -- --replay`) runs
 * the same work again. Resolves once the letter is durable; rejects otherwise (the consumer then leaves
 * the message on its queue instead: a letter is never lost).
 */
export interface DeadLetters {
  put(body: string, reason: DeadLetterReason): Promise<void>;
}

/** A letter as kept: the original body, the reason, and when it was put. */
export interface DeadLetter {
  readonly body: string;
  readonly reason: DeadLetterReason;
  /** ISO 8601. */
  readonly at: string;
}

/** How a consumer treats its queue's failures. */
export interface DeadLetterPolicy {
  /**
   * Where letters go. None: a poison message is reported as failed like a retryable one, so the queue's
   * own redrive policy moves it after maxReceiveCount (without a reason).
   */
  readonly letters?: DeadLetters;
  /**
   * The queue's maxReceiveCount: on this receive a retryable failure is put in the dead letters with its
   * reason instead of being returned once more (SQS would move it there, reasonless).
   */
  readonly maxReceives: number;
  /** Names the queue in a reason when the record does not (an SQS record names it by its ARN). */
  readonly source: string;
  /**
   * Makes a message being retried come back after `seconds` instead of the queue's whole visibility
   * timeout (SQS: ChangeMessageVisibility on the receipt it came with). Absent: the visibility timeout.
   */
  readonly retryAfter?: (receipt: string, seconds: number) => Promise<void>;
}

/** A reason's message is cut to this many characters (a message attribute, a log line). */
export const MAX_REASON_LENGTH = 256;

/** A URL's query string (Tencent's carries the admin UserSig), wherever a message quotes one. */
const QUERY_STRING = /(\bhttps?:\/\/[^\s?"'<>]*)\?[^\s"'<>]*/g;

/**
 * The reason, bounded and safe to keep beside the message: query strings of quoted URLs are cut (they
 * may hold credentials), and a long message is cut (SQS attributes and log lines stay small).
 */
export function deadLetterReason(reason: DeadLetterReason): DeadLetterReason {
  const text = reason.message.replace(QUERY_STRING, "$1?…");
  const message = text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
  return {
    code: reason.code.slice(0, 64) || "unknown",
    message: message || reason.code,
    ...(reason.status !== undefined ? { status: reason.status } : {}),
    ...(reason.receiveCount !== undefined ? { receiveCount: reason.receiveCount } : {}),
    source: reason.source.slice(0, 256) || "unknown",
  };
}
