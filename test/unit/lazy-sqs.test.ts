import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createDependencies } from "../../functions/clients.ts";
import { loadConfig } from "../../functions/config.ts";

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

const config = loadConfig({
  TABLE_NAME: "t",
  AWS_REGION: "local",
  TENCENT_SDKAPPID: "1400000000",
  FALLBACK_QUEUE_URL: "https://sqs.local/fallback",
  EDIT_QUEUE_URL: "https://sqs.local/edits",
});

describe("the SQS client, loaded on first use (clients.ts lazySqs)", () => {
  it("puts a spooled callback on the fallback queue, once per call, through one loaded client", async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: "m" });
    const { fallback } = createDependencies(config);
    const entry = { provider: "tencent", receivedAt: "2026-01-01T00:00:00.000Z", events: [], reason: "down" };

    // Act
    await Promise.all([fallback.enqueue(entry), fallback.enqueue(entry)]);

    // Assess
    const calls = sqs.commandCalls(SendMessageCommand);
    expect(calls.map((call) => call.args[0].input)).toEqual([
      { QueueUrl: "https://sqs.local/fallback", MessageBody: JSON.stringify(entry) },
      { QueueUrl: "https://sqs.local/fallback", MessageBody: JSON.stringify(entry) },
    ]);
    expect(calls[0]?.thisValue).toBe(calls[1]?.thisValue);
  });

  it("surfaces a failed send to the recorder; the next send goes through", async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejectsOnce(new Error("throttled")).resolves({});
    const { fallback } = createDependencies(config);
    const entry = { provider: "tencent", receivedAt: "2026-01-01T00:00:00.000Z", events: [], reason: "down" };

    // Act, Assess
    await expect(fallback.enqueue(entry)).rejects.toThrow("throttled");
    await expect(fallback.enqueue(entry)).resolves.toBeUndefined();
  });
});
