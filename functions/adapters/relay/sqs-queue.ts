import type { Forward, ForwardQueue } from "../../core/relay.ts";
import type { LazySqs } from "../sqs.ts";

/**
 * The forward queue in AWS: each forward is one SendMessage of its JSON on FORWARD_QUEUE_URL, consumed by
 * the forwarder function (functions/forwarder.ts) with retries, backoff and a DLQ. A forward is the
 * callback's body in base64 plus its query and a few headers: well inside SQS's message size for any
 * provider callback (Tencent's and Yunxin's are kilobytes); a send that fails rejects (the callback path
 * logs and counts `ForwardLost`, the provider still gets its answer).
 */
export class SqsForwardQueue implements ForwardQueue {
  constructor(
    private readonly sqs: LazySqs<"sendTask">,
    private readonly queueUrl: string,
  ) {}

  async enqueue(forward: Forward): Promise<void> {
    const { client, adapter } = await this.sqs();
    await adapter.sendTask(client, this.queueUrl, forward);
  }
}
