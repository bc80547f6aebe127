import type { MiddlewareObj } from "@middy/core";
import { logger } from "../logger.ts";
import { count } from "../metrics.ts";
import { errorResult } from "./respond.ts";

/** An API Gateway HTTP API event (as opposed to an SQS batch or a direct invoke). */
export function isHttpEvent(
  event: unknown,
): event is { routeKey: string; requestContext: { requestId?: string } } {
  return (
    typeof event === "object" &&
    event !== null &&
    typeof (event as { routeKey?: unknown }).routeKey === "string" &&
    typeof (event as { requestContext?: unknown }).requestContext === "object"
  );
}

/**
 * Terminal error middleware for HTTP events: every throw becomes the JSON error body of `errorResult`.
 * Unexpected errors are logged by name and message only (SDK errors can carry request details). Other
 * events (queues) let the error through, so the batch is retried.
 */
export function httpErrors<TEvent, TResult>(): MiddlewareObj<TEvent, TResult> {
  return {
    onError: async (request) => {
      if (!isHttpEvent(request.event)) return;
      const { result, unexpected } = errorResult(request.error);
      count(result.statusCode >= 500 ? "HttpServerError" : "HttpClientError");
      if (unexpected) {
        logger.error("unhandled error", {
          route: request.event.routeKey,
          error: unexpected.name,
          reason: unexpected.message,
        });
      }
      request.response = result as TResult;
    },
  };
}

/** Adds the route (never the raw path or query string: it can carry `Sign`) to every log line. */
export function logRoute<TEvent, TResult>(): MiddlewareObj<TEvent, TResult> {
  const clear = async () => {
    logger.removeKeys(["route", "requestId"]);
  };
  return {
    before: async (request) => {
      if (isHttpEvent(request.event)) {
        logger.appendKeys({
          route: request.event.routeKey,
          requestId: request.event.requestContext.requestId,
        });
      }
    },
    after: clear,
    onError: clear,
  };
}
