import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { CallbackTrace } from "./core/callbacks.ts";
import type { SpooledCallback } from "./core/durable.ts";
import { NotFoundError } from "./core/errors.ts";
import type { ProviderName } from "./core/model.ts";
import { httpErrors, isHttpEvent, logRoute } from "./http/middleware.ts";
import { lowerCaseHeaders, rawBody } from "./http/request.ts";
import { errorResult, type HttpResult, json } from "./http/respond.ts";
import { matchRoute, ROUTES } from "./http/routes.ts";
import { eachRecord, isSqsEvent, PoisonMessage } from "./http/sqs.ts";
import { logger } from "./logger.ts";
import { count, flushMetrics } from "./metrics.ts";
import { dependencies } from "./wiring/cold-start.ts";

/**
 * What a callback's one log line says (a function URL keeps no access log, so this is the record of
 * every callback): never the body, the query string or a header. Filled in stage by stage.
 */
export type CallbackLine = CallbackTrace;

const CALLBACK_ROUTES = ROUTES.filter((route) => route.function === "recorder");

/**
 * The recorder: `POST /callbacks/{provider}`. Routes the request and reads its raw bytes; the core's
 * CallbackPipeline runs the stages (verify → interpret → decide → record → publish) and says what to
 * answer, inside the provider's budget.
 */
export async function recordCallback(
  event: APIGatewayProxyEventV2,
  line: CallbackLine = {},
): Promise<HttpResult> {
  const receivedAt = new Date();
  const { config, providers, callbacks } = await dependencies();
  const route = callbackRoute(event);
  if ("allowed" in route) {
    const allow = route.allowed.join(", ");
    return json(405, { error: { code: "method_not_allowed", message: `use ${allow}` } }, { allow });
  }
  const provider = providers.get(route.provider as ProviderName);
  if (!provider) throw new NotFoundError("no such callback route");
  line.provider = provider.name;

  const request = {
    query: event.queryStringParameters ?? {},
    headers: lowerCaseHeaders(event.headers),
    body: rawBody(event, config.callbackMaxBytes),
    receivedAt,
    // What the relay forwards: the query string as received, and who sent it (X-Forwarded-For).
    ...(event.rawQueryString !== undefined ? { rawQuery: event.rawQueryString } : {}),
    ...(event.requestContext?.http?.sourceIp ? { sourceIp: event.requestContext.http.sourceIp } : {}),
  };
  if (typeof request.query.CallbackCommand === "string")
    line.command = request.query.CallbackCommand.slice(0, 64);
  const { reply } = await callbacks.handle(provider, request, line);
  // Stored and ignored callbacks count nothing (the line says which; Lambda counts invocations); a
  // spooled one is counted (and its reason logged) where it is spooled.
  return json(reply.status, reply.body);
}

/**
 * The provider a callback is for. API Gateway routed the request already; a Lambda function URL
 * (routeKey `$default`) sends every method and path here, so they are matched against the recorder's
 * routes (a path of another function's is no route here).
 */
function callbackRoute(
  event: APIGatewayProxyEventV2,
): { provider: string | undefined } | { allowed: string[] } {
  if (event.routeKey !== "$default") return { provider: event.pathParameters?.provider };
  const match = matchRoute(event.requestContext.http.method, event.rawPath ?? "", CALLBACK_ROUTES);
  if (match && "allowed" in match) return { allowed: match.allowed };
  return { provider: match?.pathParameters.provider };
}

/** A callback, and its one info line: provider, command, outcome, status, duration (ms). */
async function callback(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const started = performance.now();
  const line: CallbackLine = {};
  let status = 500;
  try {
    const result = await recordCallback(event, line);
    status = result.statusCode;
    return result;
  } catch (error: unknown) {
    status = errorResult(error).result.statusCode;
    throw error;
  } finally {
    logger.info("callback", {
      ...line,
      outcome: line.outcome ?? (status < 500 ? "refused" : "failed"),
      status,
      durationMs: Math.round(performance.now() - started),
    });
  }
}

/**
 * The durable fallback's drain: callbacks spooled while the store failed, applied now (idempotently). A
 * message that is no spooled callback goes to the dead letters with the reason at once; a replay that
 * fails (the store still down) is retried, and dead-lettered with its last error on its last receive.
 */
export async function drainFallback(event: SQSEvent): Promise<SQSBatchResponse> {
  const { callbacks, deadLetters } = await dependencies();
  return eachRecord(
    event,
    async (body) => {
      if (!isSpooledCallback(body)) {
        throw new PoisonMessage({
          code: "not_a_spooled_callback",
          message: "the message is not a spooled callback ({ provider, receivedAt, events, reason })",
        });
      }
      await callbacks.replay(body);
      count("CallbackReplayed");
    },
    deadLetters.fallback,
  );
}

function isSpooledCallback(body: unknown): body is SpooledCallback {
  if (typeof body !== "object" || body === null) return false;
  const entry = body as Record<string, unknown>;
  return (
    typeof entry.provider === "string" &&
    Array.isArray(entry.events) &&
    entry.events.every((event: unknown) => typeof event === "object" && event !== null)
  );
}

/**
 * Through the HTTP API every line carries the API's request id (its access log has the same) and route.
 * Through the function URL the route is always `$default` and there is no access log: the lines carry
 * Lambda's request id alone (functions/logger.ts), 20-odd bytes less on every callback's line.
 */
function apiLogKeys<TEvent, TResult>(): MiddlewareObj<TEvent, TResult> {
  const keys = logRoute<TEvent, TResult>();
  return {
    before: async (request) => {
      if (isHttpEvent(request.event) && request.event.routeKey !== "$default") await keys.before?.(request);
    },
    ...(keys.after ? { after: keys.after } : {}),
    ...(keys.onError ? { onError: keys.onError } : {}),
  };
}

export const handler = middy<APIGatewayProxyEventV2 | SQSEvent, HttpResult | SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(flushMetrics())
  .use(apiLogKeys())
  .use(httpErrors())
  .handler((event) => (isSqsEvent(event) ? drainFallback(event) : callback(event)));
