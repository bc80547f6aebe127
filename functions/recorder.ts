import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { dependencies } from "./clients.ts";
import { NotFoundError } from "./core/errors.ts";
import type { ProviderName } from "./core/model.ts";
import { httpErrors, logRoute } from "./http/middleware.ts";
import { lowerCaseHeaders, rawBody } from "./http/request.ts";
import { type HttpResult, json } from "./http/respond.ts";
import { logger } from "./logger.ts";

/**
 * The recorder: `POST /callbacks/{provider}`. Verify the caller on the raw bytes, interpret the
 * callback, store it (or spool it when the store fails), acknowledge inside the provider's budget.
 */
export async function recordCallback(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const receivedAt = new Date();
  const { config, providers, durable } = dependencies();
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
    logger.info("callback recorded", {
      provider: provider.name,
      events: events.map((e) => `${e.type}:${e.message.id}`),
      ...outcome,
    });
  } else {
    logger.debug("callback ignored", { provider: provider.name });
  }
  return json(provider.ack.status, provider.ack.body);
}

export const handler = middy<APIGatewayProxyEventV2, HttpResult>()
  .use(logRoute())
  .use(httpErrors())
  .handler(recordCallback);
