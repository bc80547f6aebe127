import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { handleHttp } from "./api/http.ts";
import { openApiResult } from "./api/openapi.ts";
import { type Operation, parseOperation, perform, type Reply } from "./api/operations.ts";
import type { DeadLetterPolicy } from "./core/dead-letters.ts";
import {
  describeEnvelope,
  type EventEnvelope,
  editRequestPayload,
  eventEnvelope,
} from "./http/eventbridge.ts";
import { httpErrors, isHttpEvent, logRoute } from "./http/middleware.ts";
import { errorResult, type HttpResult } from "./http/respond.ts";
import { OPENAPI_ROUTE_KEY } from "./http/routes.ts";
import { eachRecord, type FailureReason, isSqsEvent, PoisonMessage, RetryableFailure } from "./http/sqs.ts";
import { logger } from "./logger.ts";
import { count, flushMetrics } from "./metrics.ts";
import * as editing from "./providers/editing.ts";
import { dependencies } from "./wiring/cold-start.ts";

/**
 * The editor: `/v1` through API Gateway; the same operations by direct invoke, e.g.
 * `{ "action": "edit", "target": { "id": "c2c_…" }, "body": { "text": "…" }, "actor": "moderation" }`
 * answering `{ "status": 200, "body": <record> }` (errors: the HTTP status and error body); queued
 * operations from SQS (queued edits, delayed resolution of unknown outcomes); and EditRequested events
 * from EventBridge (`{ "source": "im-edit", "detail-type": "EditRequested", "detail": <that payload> }`).
 */
export type EditorEvent = APIGatewayProxyEventV2 | SQSEvent | Record<string, unknown>;
export type EditorResult = HttpResult | Reply | SQSBatchResponse;

export async function invoke(
  event: unknown,
  parse: (event: unknown) => Operation = parseOperation,
): Promise<Reply> {
  try {
    // Success counts nothing (Lambda's Invocations metric does); failures are counted.
    return await perform(await dependencies(editing), parse(event));
  } catch (thrown: unknown) {
    const { result, unexpected } = errorResult(thrown);
    count("OperationFailed");
    if (unexpected) logger.error("unhandled error", { error: unexpected.name, reason: unexpected.message });
    return { status: result.statusCode, body: JSON.parse(result.body ?? "{}") as unknown };
  }
}

/** Statuses worth another delivery: rate-limited, provider or store trouble, unknown outcome. */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);
/** 409s that pass (a busy message), unlike recalled or not editable. */
const RETRYABLE_CONFLICTS = new Set([
  "lease_held",
  "previous_edit_unknown",
  "write_contention",
  "idempotency_in_progress",
]);

function retryable(reply: Reply): boolean {
  if (RETRYABLE.has(reply.status)) return true;
  const code = (reply.body as { error?: { code?: string } } | undefined)?.error?.code;
  return reply.status === 409 && code !== undefined && RETRYABLE_CONFLICTS.has(code);
}

/**
 * An EditRequested event (EventBridge `source: "im-edit"`, detail = the direct-invoke edit payload, see
 * http/eventbridge.ts), from a rule's Lambda target or through SQS: the same operation as a direct invoke.
 * A refusal (another detail-type, a malformed detail) is logged and counted, never retried; what is worth
 * retrying (rate-limited, busy, unknown outcome) throws, so Lambda's async retries or the queue take it.
 */
export async function consumeEvent(envelope: EventEnvelope): Promise<Reply> {
  const reply = await invokeEvent(envelope);
  if (retryable(reply)) throw new RetryableFailure(replyReason(reply));
  if (reply.status >= 400) refusedEvent(envelope, reply);
  return reply;
}

const invokeEvent = (envelope: EventEnvelope): Promise<Reply> =>
  invoke(envelope, () => parseOperation(editRequestPayload(envelope)));

function refusedEvent(envelope: EventEnvelope, reply: Reply): void {
  count("EventRefused");
  logger.error("event refused", {
    ...describeEnvelope(envelope),
    status: reply.status,
    error: (reply.body as { error?: unknown } | undefined)?.error,
  });
}

/** A reply's error as a dead letter's reason: its code, our message, the status (never the request). */
function replyReason(reply: Reply): FailureReason {
  const error = (reply.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    code: typeof error?.code === "string" ? error.code : `status_${reply.status}`,
    message: typeof error?.message === "string" ? error.message : `status ${reply.status}`,
    status: reply.status,
  };
}

/** Without the dependencies (misconfigured): every failure goes back to the queue, nothing is put aside. */
const RETRY_ONLY: DeadLetterPolicy = { maxReceives: Number.POSITIVE_INFINITY, source: "edit-queue" };

/**
 * The edit queue's messages (the worker in AWS): a direct-invoke payload, or an EditRequested envelope
 * (an EventBridge rule's SQS target). A permanent refusal (bad request, gone, not editable, a refused
 * event) goes to the dead letters with its reason and is acknowledged; what is worth retrying goes back
 * to the queue, and on its last receive to the dead letters with its last reason (see `eachRecord`).
 */
export async function consumeQueue(event: SQSEvent, policy?: DeadLetterPolicy): Promise<SQSBatchResponse> {
  const deadLetters =
    policy ??
    (await dependencies(editing).then(
      (deps) => deps.deadLetters.edit,
      () => RETRY_ONLY,
    ));
  return eachRecord(
    event,
    async (body) => {
      const envelope = eventEnvelope(body);
      const reply = envelope ? await invokeEvent(envelope) : await invoke(body);
      if (retryable(reply)) throw new RetryableFailure(replyReason(reply));
      if (reply.status < 400) return;
      if (envelope) refusedEvent(envelope, reply);
      throw new PoisonMessage(replyReason(reply));
    },
    deadLetters,
  );
}

export const handler = middy<EditorEvent, EditorResult>()
  .use(injectLambdaContext(logger))
  .use(flushMetrics())
  .use(logRoute())
  .use(httpErrors())
  .handler(async (event) => {
    if (isSqsEvent(event)) return consumeQueue(event);
    if (isHttpEvent(event)) {
      // The published contract needs no store or provider (a misconfigured deployment still shows it); it is
      // built on the first ask. Not a dynamic import: esbuild would wrap its whole module graph in lazy
      // initializers, which V8 compiles twice, a cold start 10+ ms slower (npm run bench -- bundle).
      if (event.routeKey === OPENAPI_ROUTE_KEY) return openApiResult();
      return handleHttp(await dependencies(editing), event as APIGatewayProxyEventV2);
    }
    const envelope = eventEnvelope(event);
    if (envelope) return consumeEvent(envelope);
    return invoke(event);
  });
