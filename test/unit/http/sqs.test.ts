import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type {
  DeadLetterPolicy,
  DeadLetterReason,
  DeadLetters,
} from "../../../functions/core/dead-letters.ts";
import { NotFoundError, StoreUnavailableError } from "../../../functions/core/errors.ts";
import { eachRecord, PoisonMessage, RetryableFailure } from "../../../functions/http/sqs.ts";
import { sqsRecord } from "../../helpers/sqs-event.ts";

const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:im-edit-EditQueue";

const record = (messageId: string, body: string, receiveCount = 1, arn = QUEUE_ARN): SQSRecord =>
  sqsRecord(body, { messageId, receiveCount, arn });

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** The dead-letter port kept in memory (what the adapters' own tests cover is where letters go). */
class KeptLetters implements DeadLetters {
  readonly letters: { body: string; reason: DeadLetterReason }[] = [];
  failing = false;
  async put(body: string, reason: DeadLetterReason): Promise<void> {
    if (this.failing) throw new Error("SQS: AccessDenied");
    this.letters.push({ body, reason });
  }
}

const policyWith = (letters: DeadLetters | undefined, maxReceives = 5): DeadLetterPolicy => ({
  ...(letters ? { letters } : {}),
  maxReceives,
  source: "edit-queue",
});

/** A consumer that refuses `poison`, fails `busy` as retryable and `crash` with a bare error. */
async function consumer(body: unknown): Promise<void> {
  const kind = (body as { kind?: string }).kind;
  if (kind === "poison") {
    throw new PoisonMessage({ code: "not_editable", message: "message c2c_x cannot be edited", status: 409 });
  }
  if (kind === "gone")
    throw new PoisonMessage({ code: "not_found", message: "no such message", status: 404 });
  if (kind === "busy")
    throw new RetryableFailure({ code: "rate_limited", message: "over the rate", status: 429 });
  if (kind === "store") throw new StoreUnavailableError("the store did not answer");
  if (kind === "crash") throw new TypeError("x is undefined");
  if (kind === "app") throw new NotFoundError("no such message");
}

describe("eachRecord: partial batch failures and dead letters with the reason", () => {
  it("poison messages (not JSON, refused) go to the dead letters with the reason and are acknowledged", async () => {
    // Prepare
    const letters = new KeptLetters();
    const poison = JSON.stringify({ kind: "poison", text: "private words" });

    // Act
    const result = await eachRecord(
      batch(
        record("ok", JSON.stringify({ kind: "fine" })),
        record("bad-json", "{not json"),
        record("refused", poison, 2),
        record("gone", JSON.stringify({ kind: "gone" })),
      ),
      consumer,
      policyWith(letters),
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(letters.letters).toEqual([
      {
        body: "{not json",
        reason: {
          code: "not_json",
          message: "the message body is not JSON",
          receiveCount: 1,
          source: QUEUE_ARN,
        },
      },
      {
        body: poison,
        reason: {
          code: "not_editable",
          message: "message c2c_x cannot be edited",
          status: 409,
          receiveCount: 2,
          source: QUEUE_ARN,
        },
      },
      {
        body: JSON.stringify({ kind: "gone" }),
        reason: {
          code: "not_found",
          message: "no such message",
          status: 404,
          receiveCount: 1,
          source: QUEUE_ARN,
        },
      },
    ]);
    // The body is kept as it was (a redrive replays it); the reason never carries it.
    expect(JSON.stringify(letters.letters.map((letter) => letter.reason))).not.toContain("private words");
  });

  it("retryable failures go back to the queue before their last receive, with nothing put aside", async () => {
    // Prepare
    const letters = new KeptLetters();

    // Act
    const result = await eachRecord(
      batch(
        record("busy", JSON.stringify({ kind: "busy" }), 1),
        record("store", JSON.stringify({ kind: "store" }), 4),
        record("fine", JSON.stringify({ kind: "fine" }), 4),
      ),
      consumer,
      policyWith(letters, 5),
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "busy" }, { itemIdentifier: "store" }] });
    expect(letters.letters).toEqual([]);
  });

  it("on the last allowed receive a retryable failure is dead-lettered with its last error, and acknowledged", async () => {
    // Prepare
    const letters = new KeptLetters();

    // Act
    const result = await eachRecord(
      batch(
        record("busy", JSON.stringify({ kind: "busy" }), 5),
        record("store", JSON.stringify({ kind: "store" }), 6),
        record("crash", JSON.stringify({ kind: "crash" }), 5),
      ),
      consumer,
      policyWith(letters, 5),
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(letters.letters.map((letter) => letter.reason)).toEqual([
      { code: "rate_limited", message: "over the rate", status: 429, receiveCount: 5, source: QUEUE_ARN },
      { code: "store_unavailable", message: "the store did not answer", receiveCount: 6, source: QUEUE_ARN },
      { code: "unexpected", message: "TypeError: x is undefined", receiveCount: 5, source: QUEUE_ARN },
    ]);
  });

  it("a letter that cannot be put leaves its record failed, on its queue (never lost)", async () => {
    // Prepare
    const letters = new KeptLetters();
    letters.failing = true;

    // Act
    const result = await eachRecord(
      batch(
        record("bad-json", "{not json"),
        record("refused", JSON.stringify({ kind: "poison" })),
        record("exhausted", JSON.stringify({ kind: "busy" }), 5),
        record("fine", JSON.stringify({ kind: "fine" })),
      ),
      consumer,
      policyWith(letters),
    );

    // Assess
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      "bad-json",
      "refused",
      "exhausted",
    ]);
  });

  it("without dead letters a poison message is reported failed: the queue's redrive policy moves it", async () => {
    const result = await eachRecord(
      batch(record("bad-json", "{not json"), record("refused", JSON.stringify({ kind: "poison" }))),
      consumer,
      policyWith(undefined),
    );
    expect(result.batchItemFailures).toHaveLength(2);
  });

  it("a record without a queue ARN or receive count is named by the policy's source, as its first receive", async () => {
    // Prepare
    const letters = new KeptLetters();
    const bare = { eventSource: "aws:sqs", messageId: "m", body: "{not json" } as unknown as SQSRecord;

    // Act
    await eachRecord(batch(bare), consumer, policyWith(letters));

    // Assess
    expect(letters.letters[0]?.reason).toMatchObject({ source: "edit-queue", receiveCount: 1 });
  });

  it("a typed error the consumer throws keeps its code; it is retried like any other until the last receive", async () => {
    const letters = new KeptLetters();
    const first = await eachRecord(batch(record("a", '{"kind":"app"}', 1)), consumer, policyWith(letters, 2));
    const last = await eachRecord(batch(record("a", '{"kind":"app"}', 2)), consumer, policyWith(letters, 2));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "a" }]);
    expect(last.batchItemFailures).toEqual([]);
    expect(letters.letters.map((letter) => letter.reason.code)).toEqual(["not_found"]);
  });
});
