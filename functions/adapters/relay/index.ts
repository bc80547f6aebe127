import { join } from "node:path";
import type { ForwardQueue } from "../../core/relay.ts";
import type { LazySqs } from "../sqs.ts";
import {
  type ForwardQueueObserver,
  LocalForwardQueue,
  type LocalForwardQueueOptions,
} from "./local-queue.ts";
import { SqsForwardQueue } from "./sqs-queue.ts";

/**
 * The relay's transports (issue 16), as clients.ts builds them: the forwarder (undici, pooled per
 * origin) and the forward queue (SQS with FORWARD_QUEUE_URL, else a durable directory under DATA_DIR,
 * else memory). Nothing here loads undici or the SQS SDK: both come on first use.
 */
export type { LazySqs } from "../sqs.ts";
/** The forwarder every forward goes through (one per process: its pools are reused); `close` for shutdown. */
export { createForwarder } from "./http-forwarder.ts";
export { FORWARD_QUEUE_SOURCE, type ForwardQueueObserver, LocalForwardQueue } from "./local-queue.ts";
export { parseForward } from "./record.ts";

/**
 * The local queue's options but its directory (from `dataDir`) and concurrency (its default): `deliver`
 * (`deliverForward` bound to the provider's relay) is its consumer, `maxAttempts` its attempts (SQS's are
 * its redrive policy's), and tests make its backoff and poll short.
 */
type LocalQueueOptions = Pick<
  LocalForwardQueueOptions,
  "deliver" | "maxAttempts" | "deadLetters" | "initialBackoffMs" | "maxBackoffMs" | "pollMs"
>;

export interface ForwardQueueOptions extends ForwardQueueObserver, LocalQueueOptions {
  /** FORWARD_QUEUE_URL (AWS): forwards are sent there, and delivered by the forwarder function. */
  readonly queueUrl?: string;
  /** The SQS client, loaded on first use (needed with `queueUrl`). */
  readonly sqs?: LazySqs<"sendTask">;
  /** DATA_DIR (locally): forwards are kept in `<dataDir>/forwards` until delivered or dead-lettered. */
  readonly dataDir?: string;
}

/**
 * The forward queue: SQS when `queueUrl` and `sqs` are given (the forwarder function consumes it; `deliver`
 * and the local options are unused here), else the local queue, delivering in this process with `deliver`.
 * `close` stops the local queue's attempts (what is left stays in its directory); nothing to do for SQS.
 */
export function createForwardQueue(options: ForwardQueueOptions): ForwardQueue & { close(): Promise<void> } {
  if (options.queueUrl !== undefined && options.sqs) {
    const queue = new SqsForwardQueue(options.sqs, options.queueUrl);
    return { enqueue: (forward) => queue.enqueue(forward), close: async () => undefined };
  }
  return new LocalForwardQueue({
    ...options,
    ...(options.dataDir !== undefined ? { directory: join(options.dataDir, FORWARDS_DIRECTORY) } : {}),
  });
}

/** The local queue's directory under DATA_DIR (`npm run redrive -- --replay` puts letters back there). */
export const FORWARDS_DIRECTORY = "forwards";
