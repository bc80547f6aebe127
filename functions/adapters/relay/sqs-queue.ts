import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Forward, ForwardQueue } from "../../core/relay.ts";

/**
 * The SQS side, loaded on first use (clients.ts `lazySqs`: the SDK is not in the recorder's cold import):
 * the client and the module that sends on it. Structural, so any loader of `functions/queues.ts` fits.
 */
export type LazySqs = () => Promise<{
  readonly client: SQSClient;
  readonly adapter: Pick<typeof import("../../queues.ts"), "sendTask">;
}>;

/**
 * The forward queue in AWS: each forward is one SendMessage of its JSON on FORWARD_QUEUE_URL, consumed by
 * the forwarder function (functions/forwarder.ts) with retries, backoff and a DLQ. A forward is the
 * callback's body in base64 plus its query and a few headers: well inside SQS's message size for any
 * provider callback (Tencent's and Yunxin's are kilobytes); a send that fails rejects (the callback path
 * logs and counts `ForwardLost`, the provider still gets its answer).
 */
export class SqsForwardQueue implements ForwardQueue {
  constructor(
    private readonly sqs: LazySqs,
    private readonly queueUrl: string,
  ) {}

  async enqueue(forward: Forward): Promise<void> {
    const { client, adapter } = await this.sqs();
    await adapter.sendTask(client, this.queueUrl, forward);
  }
}
