import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { handleHttp } from "./api/http.ts";
import { parseOperation, perform, type Reply } from "./api/operations.ts";
import { dependencies } from "./clients.ts";
import { httpErrors, logRoute } from "./http/middleware.ts";
import { errorResult, type HttpResult } from "./http/respond.ts";
import { logger } from "./logger.ts";

/**
 * The editor: `/v1` through API Gateway, and the same operations by direct invoke, e.g.
 * `{ "action": "edit", "target": { "id": "c2c_…" }, "body": { "text": "…" }, "actor": "moderation" }`
 * answering `{ "status": 200, "body": <record> }` (errors: the HTTP status and error body).
 */
export type EditorEvent = APIGatewayProxyEventV2 | Record<string, unknown>;
export type EditorResult = HttpResult | Reply;

const isHttp = (event: EditorEvent): event is APIGatewayProxyEventV2 =>
  typeof event.routeKey === "string" && typeof event.requestContext === "object";

export async function invoke(event: unknown): Promise<Reply> {
  try {
    return await perform(dependencies(), parseOperation(event));
  } catch (thrown: unknown) {
    const { result, unexpected } = errorResult(thrown);
    if (unexpected) logger.error("unhandled error", { error: unexpected.name, reason: unexpected.message });
    return { status: result.statusCode, body: JSON.parse(result.body ?? "{}") as unknown };
  }
}

export const handler = middy<EditorEvent, EditorResult>()
  .use(logRoute())
  .use(httpErrors())
  .handler(async (event) => (isHttp(event) ? handleHttp(dependencies(), event) : invoke(event)));
