// The queues a function sends to and the dead letters of the queues it consumes: SQS in AWS (the SDK
// loaded on first use), in-process or under DATA_DIR locally. Part of `createDependencies` (clients.ts).
import { join } from "node:path";
import { DirectoryDeadLetters } from "../adapters/dead-letters/directory.ts";
import { createForwarder, createForwardQueue, FORWARD_QUEUE_SOURCE } from "../adapters/relay/index.ts";
import { FileSpool } from "../adapters/spool.ts";
import type { LazySqs } from "../adapters/sqs.ts";
import { InProcessWorkQueue } from "../adapters/work/in-process.ts";
import type { Dependencies } from "../clients.ts";
import type { Config } from "../config.ts";
import type { DeadLetterPolicy, DeadLetters } from "../core/dead-letters.ts";
import type { FallbackQueue } from "../core/durable.ts";
import { StoreUnavailableError } from "../core/errors.ts";
import { deliverForward } from "../core/forwarding.ts";
import type { ProviderName } from "../core/model.ts";
import type { CallbackProvider } from "../core/provider.ts";
import type { Forward } from "../core/relay.ts";
import type { WorkQueue } from "../core/work.ts";
import { failureReason } from "../http/sqs.ts";
import { logger } from "../logger.ts";
import { LOCAL_FORWARD_OBSERVER } from "./observers.ts";

/**
 * The relay's transports: the forwarder (undici, loaded on the first forward) and, while some provider
 * forwards, the forward queue: SQS with FORWARD_QUEUE_URL (the forwarder function delivers), else the
 * local queue delivering in this process (DATA_DIR/forwards, else memory), dead-lettering what it gives up.
 */
export function createRelay(
  config: Config,
  providers: ReadonlyMap<ProviderName, CallbackProvider>,
  sqs: LazySqs | undefined,
  policy: DeadLetterPolicy,
): Dependencies["relay"] {
  const forwarder = createForwarder({ maxResponseBytes: config.forwardMaxResponseBytes });
  const deliver = (forward: Forward) =>
    deliverForward(forward, {
      relay: providers.get(forward.provider)?.relay,
      forwarder,
      timeoutMs: config.forwardTimeoutMs,
    });
  if (!someRelay(providers)) return { forwarder, deliver };
  const queue = createForwardQueue({
    ...(config.forwardQueueUrl !== undefined ? { queueUrl: config.forwardQueueUrl } : {}),
    ...(sqs ? { sqs } : {}),
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    deliver,
    maxAttempts: config.forwardQueueMaxReceives,
    ...(policy.letters ? { deadLetters: policy.letters } : {}),
    ...LOCAL_FORWARD_OBSERVER,
  });
  return { queue, forwarder, deliver };
}

/** Some provider forwards its callbacks to the app's own handler (its forward URL is set). */
export function someRelay(providers: ReadonlyMap<ProviderName, CallbackProvider>): boolean {
  return [...providers.values()].some((provider) => provider.relay);
}

/**
 * The edit queue in AWS (EDIT_QUEUE_URL); in-process otherwise, where nothing redelivers a failed task:
 * it goes to the dead letters (locally `DATA_DIR/dead-letters`, replayed by `npm run redrive -- --replay`).
 */
export function createWorkQueue(config: Config, sqs: LazySqs | undefined, letters?: DeadLetters): WorkQueue {
  const queueUrl = config.editQueueUrl;
  if (sqs && queueUrl) {
    return {
      enqueue: async (task, delayMs) => {
        const { client, adapter } = await sqs();
        await adapter.sendTask(client, queueUrl, task, delayMs);
      },
    };
  }
  return new InProcessWorkQueue((task, error) => {
    logger.warn("queued work failed", { action: task.action, error: `${error.name}: ${error.message}` });
    letters
      ?.put(JSON.stringify(task), { ...failureReason(error), receiveCount: 1, source: "in-process" })
      .catch((thrown: unknown) =>
        logger.warn("failed work could not be dead-lettered", { action: task.action, error: String(thrown) }),
      );
  });
}

/** Sets a received message's visibility on the queue its consumer reads (with an SQS client and the queue). */
function visibilityChanger(
  sqs: LazySqs | undefined,
  queueUrl: string | undefined,
): ((receipt: string, seconds: number) => Promise<void>) | undefined {
  if (!sqs || queueUrl === undefined) return undefined;
  return async (receipt, seconds) => {
    const { client, adapter } = await sqs();
    await adapter.changeVisibility(client, queueUrl, receipt, seconds);
  };
}

/**
 * Each queue's dead letters: its DLQ in AWS (EDIT_DLQ_URL, FALLBACK_DLQ_URL; SDK loaded on the first
 * letter), `DATA_DIR/dead-letters` locally, else none (a consumer then leaves what it gives up on to the
 * queue's redrive policy).
 */
export function createDeadLetters(config: Config, sqs: LazySqs | undefined): Dependencies["deadLetters"] {
  const local =
    config.dataDir !== undefined ? new DirectoryDeadLetters(join(config.dataDir, "dead-letters")) : undefined;
  const letters = (queueUrl: string | undefined): DeadLetters | undefined => {
    if (sqs && queueUrl) {
      return {
        put: async (body, reason) => {
          const { client, adapter } = await sqs();
          await new adapter.SqsDeadLetters(client, queueUrl).put(body, reason);
        },
      };
    }
    return local;
  };
  const policy = (
    letters: DeadLetters | undefined,
    maxReceives: number,
    source: string,
  ): DeadLetterPolicy => ({
    ...(letters ? { letters } : {}),
    maxReceives,
    source,
  });
  // The worker may change its messages' visibility (it consumes the edit queue): a retry comes back soon.
  const retryAfter = visibilityChanger(sqs, config.editQueueUrl);
  // The forwarder function consumes the forward queue: its retries come back with backoff likewise.
  const forwardRetryAfter = visibilityChanger(sqs, config.forwardQueueUrl);
  return {
    edit: {
      ...policy(letters(config.editDlqUrl), config.editQueueMaxReceives, "edit-queue"),
      ...(retryAfter ? { retryAfter } : {}),
    },
    fallback: policy(letters(config.fallbackDlqUrl), config.fallbackQueueMaxReceives, "fallback-queue"),
    forward: {
      ...policy(letters(config.forwardDlqUrl), config.forwardQueueMaxReceives, FORWARD_QUEUE_SOURCE),
      ...(forwardRetryAfter ? { retryAfter: forwardRetryAfter } : {}),
    },
  };
}

/**
 * The SQS client, made on first use: only a failing store (the recorder's fallback) and an unknown
 * outcome (the editor's delayed resolution) send to a queue, so loading the SQS SDK waits for them
 * instead of lengthening every cold start (`npm run bench -- bundle`).
 */
export function lazySqs(region: string): LazySqs {
  let loaded: ReturnType<LazySqs> | undefined;
  return () => {
    loaded ??= import("../queues.ts").then((adapter) => ({
      client: adapter.createSqsClient(region),
      adapter,
    }));
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
}

/** Locally: the spool under DATA_DIR. In AWS: the fallback SQS queue the CDK stack creates. */
export function createFallback(config: Config, sqs: LazySqs | undefined): FallbackQueue {
  const queueUrl = config.fallbackQueueUrl;
  if (sqs && queueUrl) {
    return {
      enqueue: async (entry) => {
        const { client, adapter } = await sqs();
        await new adapter.SqsFallbackQueue(client, queueUrl).enqueue(entry);
      },
    };
  }
  if (config.dataDir !== undefined) return new FileSpool(join(config.dataDir, "spool"));
  return {
    enqueue: async () => {
      throw new StoreUnavailableError("the store failed and no durable fallback is configured");
    },
  };
}
