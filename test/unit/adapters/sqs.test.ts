import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { SqsFallbackQueue, sendTask } from "../../../functions/adapters/sqs.ts";

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

describe("SQS adapters", () => {
  it("puts a spooled callback on the fallback queue as one JSON message", async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: "m" });
    const entry = { provider: "tencent", receivedAt: "2026-01-01T00:00:00.000Z", events: [], reason: "down" };
    // Act
    await new SqsFallbackQueue(new SQSClient({ region: "local" }), "https://sqs.local/q").enqueue(entry);
    // Assess
    const [call] = sqs.commandCalls(SendMessageCommand);
    expect(call?.args[0].input).toEqual({
      QueueUrl: "https://sqs.local/q",
      MessageBody: JSON.stringify(entry),
    });
  });

  it("delays a task by whole seconds, at most SQS's 15 minutes", async () => {
    sqs.on(SendMessageCommand).resolves({});
    const client = new SQSClient({ region: "local" });
    await sendTask(client, "https://sqs.local/q", { action: "resolve" }, 1_200);
    await sendTask(client, "https://sqs.local/q", { action: "resolve" }, 3_600_000);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.DelaySeconds)).toEqual([2, 900]);
  });

  it("lets a failed send surface (the recorder then answers 503 rather than lose the callback)", async () => {
    sqs.on(SendMessageCommand).rejects(new Error("throttled"));
    const queue = new SqsFallbackQueue(new SQSClient({ region: "local" }), "https://sqs.local/q");
    await expect(
      queue.enqueue({ provider: "tencent", receivedAt: "", events: [], reason: "" }),
    ).rejects.toThrow("throttled");
  });
});
