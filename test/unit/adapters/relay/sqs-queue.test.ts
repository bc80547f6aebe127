import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createForwardQueue,
  type LazySqs,
  LocalForwardQueue,
} from "../../../../functions/adapters/relay/index.ts";
import { tencentForward } from "../../../helpers/forward-app.ts";

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

/** As clients.ts loads it: the SQS module on first use, one client. */
function lazy(): LazySqs {
  let loaded: ReturnType<LazySqs> | undefined;
  return () => {
    loaded ??= import("../../../../functions/queues.ts").then((adapter) => ({
      client: adapter.createSqsClient("local"),
      adapter,
    }));
    return loaded;
  };
}

const forward = tencentForward('{"a":"你好"}');

describe("createForwardQueue", () => {
  it("with FORWARD_QUEUE_URL sends each forward's JSON to SQS, delivering nothing itself", async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: "m" });
    const deliver = vi.fn(async () => {});
    const queue = createForwardQueue({
      queueUrl: "https://sqs.local/forwards",
      sqs: lazy(),
      deliver,
      maxAttempts: 8,
    });

    // Act
    await queue.enqueue(forward);
    await queue.close();

    // Assess
    const calls = sqs.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({ QueueUrl: "https://sqs.local/forwards" });
    expect(JSON.parse(calls[0]?.args[0].input.MessageBody ?? "")).toEqual(forward);
    expect(deliver).not.toHaveBeenCalled();
    expect(queue).not.toBeInstanceOf(LocalForwardQueue);
  });

  it("rejects when SQS refuses the forward (the callback path counts it lost)", async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(new Error("throttled"));
    const queue = createForwardQueue({
      queueUrl: "https://sqs.local/forwards",
      sqs: lazy(),
      deliver: vi.fn(),
      maxAttempts: 8,
    });

    // Act, Assess
    await expect(queue.enqueue(forward)).rejects.toThrow("throttled");
  });

  it("without a queue URL keeps forwards under DATA_DIR/forwards and delivers them in process", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "im-edit-forwards-"));
    const delivered: unknown[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const queue = createForwardQueue({
      dataDir,
      deliver: async (f) => {
        await held;
        delivered.push(f);
      },
      maxAttempts: 8,
    });

    try {
      // Act
      await queue.enqueue(forward);
      const kept = await readdir(join(dataDir, "forwards"));
      release();
      await vi.waitFor(() => expect(delivered).toHaveLength(1), { timeout: 5_000, interval: 10 });

      // Assess
      expect(queue).toBeInstanceOf(LocalForwardQueue);
      expect(kept).toHaveLength(1);
      expect(delivered).toEqual([forward]);
    } finally {
      await queue.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
