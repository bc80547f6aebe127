import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { logger } from "../logger.ts";
import { errorResult, type HttpResult } from "./respond.ts";

/**
 * Terminal error middleware: every throw becomes the JSON error body of `errorResult`. Unexpected
 * errors are logged by name and message only (SDK errors can carry request details).
 */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    onError: async (request) => {
      const { result, unexpected } = errorResult(request.error);
      if (unexpected) {
        logger.error("unhandled error", {
          route: request.event.routeKey,
          error: unexpected.name,
          reason: unexpected.message,
        });
      }
      request.response = result;
    },
  };
}

/** Adds the route (never the raw path or query string: it can carry `Sign`) to every log line. */
export function logRoute(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: async (request) => {
      logger.appendKeys({
        route: request.event.routeKey,
        requestId: request.event.requestContext?.requestId,
      });
    },
    after: async () => {
      logger.removeKeys(["route", "requestId"]);
    },
    onError: async () => {
      logger.removeKeys(["route", "requestId"]);
    },
  };
}
