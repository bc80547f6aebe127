import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { createDependencies } from "../../../functions/clients.ts";
import { loadConfig } from "../../../functions/config.ts";
import type { DeadLetterPolicy, DeadLetterReason } from "../../../functions/core/dead-letters.ts";
import {
  eachRecord,
  MAX_RETRY_DELAY_S,
  MIN_RETRY_DELAY_S,
  PoisonMessage,
  RetryableFailure,
  retryDelaySeconds,
} from "../../../functions/http/sqs.ts";
import { sqsRecord } from "../../helpers/sqs-event.ts";

const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:im-edit-EditQueue";

const record = (kind: string, receiveCount: number): SQSRecord =>
  sqsRecord(JSON.stringify({ kind }), {
    messageId: `m-${kind}-${receiveCount}`,
    receiptHandle: `receipt-${kind}-${receiveCount}`,
    receiveCount,
    arn: QUEUE_ARN,
  });

async function consumer(body: unknown): Promise<void> {
  const kind = (body as { kind?: string }).kind;
  if (kind === "poison") throw new PoisonMessage({ code: "not_found", message: "gone", status: 404 });
  if (kind === "busy")
    throw new RetryableFailure({ code: "rate_limited", message: "over the rate", status: 429 });
}

/** A policy whose backoff is recorded (or refused), and whose letters are kept. */
function policy(options: { failing?: boolean } = {}) {
  const delays: [string, number][] = [];
  const letters: DeadLetterReason[] = [];
  const value: DeadLetterPolicy = {
    maxReceives: 5,
    source: "edit-queue",
    letters: { put: async (_body, reason) => void letters.push(reason) },
    retryAfter: async (receipt, seconds) => {
      if (options.failing) throw new Error("SQS: ReceiptHandleIsInvalid");
      delays.push([receipt, seconds]);
    },
  };
  return { value, delays, letters };
}

/**
 * A retried queue message comes back after a jittered backoff of 5-60 s by receive count
 * (ChangeMessageVisibility) instead of the edit queue's 18-minute visibility timeout.
 */
describe("retry backoff of queue messages", () => {
  it("doubles with the receive count from 5 s to 60 s at most, jittered over the upper half", () => {
    const bounds = [1, 2, 3, 4, 5, 6, 30].map((n) => [
      n,
      retryDelaySeconds(n, () => 0),
      retryDelaySeconds(n, () => 0.999_999),
    ]);
    expect(bounds).toEqual([
      [1, 5, 5],
      [2, 5, 10],
      [3, 10, 20],
      [4, 20, 40],
      [5, 30, 60],
      [6, 30, 60],
      [30, 30, 60],
    ]);
    for (let i = 0; i < 200; i++) {
      const seconds = retryDelaySeconds(1 + (i % 8));
      expect(seconds).toBeGreaterThanOrEqual(MIN_RETRY_DELAY_S);
      expect(seconds).toBeLessThanOrEqual(MAX_RETRY_DELAY_S);
      expect(Number.isInteger(seconds)).toBe(true);
    }
  });

  it("sets the backoff of a retried record before reporting it; none for the done, the poison or the last receive", async () => {
    // Prepare
    const { value, delays, letters } = policy();
    const records = [record("ok", 1), record("busy", 3), record("poison", 1), record("busy", 5)];
    // Act
    const result = await eachRecord({ Records: records }, consumer, value);
    // Assess: only the busy one on its third receive comes back (10-20 s); the last receive is a letter
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-busy-3" }]);
    expect(delays.map(([receipt]) => receipt)).toEqual(["receipt-busy-3"]);
    expect(delays[0]?.[1]).toBeGreaterThanOrEqual(10);
    expect(delays[0]?.[1]).toBeLessThanOrEqual(20);
    expect(letters.map((reason) => reason.code)).toEqual(["not_found", "rate_limited"]);
  });

  it("a backoff that cannot be set still reports the record for a retry (it waits the visibility timeout)", async () => {
    const { value, delays } = policy({ failing: true });
    const result = await eachRecord({ Records: [record("busy", 1)] }, consumer, value);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-busy-1" }]);
    expect(delays).toEqual([]);
  });

  describe("wired from EDIT_QUEUE_URL (the worker)", () => {
    const received: { target: string; body: Record<string, unknown> }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({
          target: String(req.headers["x-amz-target"]),
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        });
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        res.end("{}");
      });
    });
    let url = "";
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("the edit queue's policy changes the message's visibility on that queue; the fallback queue's has none", async () => {
      // Prepare: the SDK sends to the host of the queue URL, so the URL names the loopback server
      const queueUrl = `${url}/123456789012/edit-queue`;
      const store = new SqliteStore({ path: ":memory:" });
      try {
        const { deadLetters } = createDependencies(
          loadConfig({
            TABLE_NAME: "t",
            AWS_REGION: "us-east-1",
            TENCENT_SDKAPPID: "1400000000",
            EDIT_QUEUE_URL: queueUrl,
          }),
          { store },
        );
        // Act
        await deadLetters.edit.retryAfter?.("receipt-1", 17);
        // Assess
        expect(received).toEqual([
          {
            target: "AmazonSQS.ChangeMessageVisibility",
            body: { QueueUrl: queueUrl, ReceiptHandle: "receipt-1", VisibilityTimeout: 17 },
          },
        ]);
        expect(deadLetters.fallback.retryAfter).toBeUndefined();
      } finally {
        store.close();
      }
    });

    it("without EDIT_QUEUE_URL (locally): no backoff, the in-process queue retries its own way", () => {
      const store = new SqliteStore({ path: ":memory:" });
      const { deadLetters } = createDependencies(
        loadConfig({ TABLE_NAME: "t", AWS_REGION: "us-east-1", TENCENT_SDKAPPID: "1400000000" }),
        { store },
      );
      store.close();
      expect(deadLetters.edit.retryAfter).toBeUndefined();
    });
  });
});
