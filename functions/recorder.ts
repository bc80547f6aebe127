import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { dependencies } from "./clients.ts";
import type { SpooledCallback } from "./core/durable.ts";
import { NotFoundError } from "./core/errors.ts";
import type { ProviderName } from "./core/model.ts";
import { eventMessageId } from "./core/recorder.ts";
import { httpErrors, logRoute } from "./http/middleware.ts";
import { lowerCaseHeaders, rawBody } from "./http/request.ts";
import { type HttpResult, json } from "./http/respond.ts";
import { eachRecord, isSqsEvent } from "./http/sqs.ts";
import { logger } from "./logger.ts";
import { count, metrics } from "./metrics.ts";

/**
 * The recorder: `POST /callbacks/{provider}`. Verify the caller on the raw bytes, interpret the
 * callback, store it (or spool it when the store fails), acknowledge inside the provider's budget.
 */
export async function recordCallback(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const receivedAt = new Date();
  const { config, providers, durable } = await dependencies();
  const provider = providers.get(event.pathParameters?.provider as ProviderName);
  if (!provider) throw new NotFoundError("no such callback route");

  const request = {
    query: event.queryStringParameters ?? {},
    headers: lowerCaseHeaders(event.headers),
    body: rawBody(event, config.callbackMaxBytes),
    receivedAt,
  };
  provider.verify(request);
  const events = provider.interpret(request);
  if (events.length > 0) {
    const outcome = await durable.record(provider.name, receivedAt, events);
    count("stored" in outcome ? "CallbackStored" : "CallbackSpooled");
    logger.info("callback recorded", {
      provider: provider.name,
      events: events.map((e) => `${e.type}:${eventMessageId(e)}`),
      ...outcome,
    });
  } else {
    count("CallbackIgnored");
  }
  return json(provider.ack.status, provider.ack.body);
}

/** The durable fallback's drain: callbacks spooled while the store failed, applied now (idempotently). */
export async function drainFallback(event: SQSEvent): Promise<SQSBatchResponse> {
  const { durable } = await dependencies();
  return eachRecord(event, async (body) => {
    await durable.replay(body as SpooledCallback);
    count("CallbackReplayed");
  });
}

export const handler = middy<APIGatewayProxyEventV2 | SQSEvent, HttpResult | SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(logRoute())
  .use(httpErrors())
  .handler((event) => (isSqsEvent(event) ? drainFallback(event) : recordCallback(event)));
