import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseForward } from "./adapters/relay/record.ts";
import type { DeadLetterPolicy } from "./core/dead-letters.ts";
import { ForwardFailure } from "./core/forwarding.ts";
import type { Forward } from "./core/relay.ts";
import { eachRecord, PoisonMessage, RetryableFailure } from "./http/sqs.ts";
import { logger } from "./logger.ts";
import { flushMetrics } from "./metrics.ts";
import { reportForwardRefused } from "./wiring/observers.ts";
import { relayDependencies } from "./wiring/relay.ts";

/** What the forward queue's consumer needs: one delivery attempt, and where forwards given up on go. */
export interface ForwardConsumer {
  /** `deliverForward` bound to the forward's provider's relay: resolves on 2xx, throws ForwardFailure. */
  readonly deliver: (forward: Forward) => Promise<void>;
  /** FORWARD_DLQ_URL, FORWARD_QUEUE_MAX_RECEIVES, source `forward-queue`, retryAfter on FORWARD_QUEUE_URL. */
  readonly policy: DeadLetterPolicy;
}

/**
 * The forward queue's deliveries (the forwarder function in AWS, FORWARD_QUEUE_URL): each record is one
 * forward, delivered once more to the app's handler, re-signed. Partial batch failures (`eachRecord`): a
 * record that is not a forward, or a forward the app refused (3xx, another 4xx) or that cannot be signed
 * (misconfigured, no forward URL), goes to the dead letters at once with the reason; a timeout, a network
 * failure, 408/425/429/5xx or an answer over the cap goes back to the queue with backoff, and to the dead
 * letters with its last reason on its last receive. Redrive (SQS's, or `npm run redrive -- --replay`
 * locally) delivers a letter again.
 */
export async function deliverForwards(event: SQSEvent, consumer: ForwardConsumer): Promise<SQSBatchResponse> {
  return eachRecord(
    event,
    async (body, record) => {
      const forward = parseForward(body);
      if (!forward) {
        throw new PoisonMessage({
          code: "not_a_forward",
          message: "the message is not a forward ({ provider, id, rawQuery, headers, body, receivedAt })",
        });
      }
      try {
        await consumer.deliver(forward);
      } catch (thrown: unknown) {
        if (!(thrown instanceof ForwardFailure)) throw thrown;
        if (thrown.reason.code === "misconfigured") {
          reportForwardRefused({ provider: forward.provider, forwardId: forward.id });
        }
        throw thrown.retryable ? new RetryableFailure(thrown.reason) : new PoisonMessage(thrown.reason);
      }
      // A delivery counts nothing (the happy path): the forward queue's own metrics and the alarms cover it.
      logger.debug("forward delivered", {
        provider: forward.provider,
        forwardId: forward.id,
        receiveCount: record.attributes?.ApproximateReceiveCount,
      });
    },
    consumer.policy,
  );
}

/**
 * Without the dependencies (a configuration that cannot load: logged and counted by `relayDependencies`),
 * every record goes back to the queue: nothing can be delivered or put aside, and nothing is lost.
 */
function retryAll(event: SQSEvent): SQSBatchResponse {
  return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
}

/** The forwarder function: the forward queue's consumer (its own bundle entry, `forwarder`). */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(flushMetrics())
  .handler(async (event) => {
    let consumer: ForwardConsumer;
    try {
      const { relay, deadLetters } = await relayDependencies();
      consumer = { deliver: (forward) => relay.deliver(forward), policy: deadLetters.forward };
    } catch {
      return retryAll(event);
    }
    return deliverForwards(event, consumer);
  });
