import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { Dependencies } from "../clients.ts";
import { BadRequestError, NotFoundError } from "../core/errors.ts";
import { lowerCaseHeaders, rawBody } from "../http/request.ts";
import { type HttpResult, json } from "../http/respond.ts";
import { parseJsonBody } from "../json.ts";
import * as z from "../zod.ts";
import { type Operation, parseOperation, perform } from "./operations.ts";

/** API request bodies (edits carry at most a 12 KB message) are capped well above that. */
export const API_MAX_BYTES = 64 * 1024;

/** `/v1` over API Gateway (or the local stand-in): request → Operation → reply. */
export async function handleHttp(deps: Dependencies, event: APIGatewayProxyEventV2): Promise<HttpResult> {
  // API Gateway's (and the local server's) arrival time: time spent queued before this handler counts.
  const receivedAt = event.requestContext.timeEpoch;
  const reply = await perform(deps, parseOperation(toOperation(event)), {
    ...(Number.isFinite(receivedAt) ? { receivedAt } : {}),
  });
  return json(reply.status, reply.body, reply.headers);
}

function toOperation(event: APIGatewayProxyEventV2): Record<string, unknown> {
  const query = event.queryStringParameters ?? {};
  const headers = lowerCaseHeaders(event.headers);
  const id = event.pathParameters?.id;
  const byId = { target: { id: id ?? "" } };
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const writes = () => ({
    actor: actorOf(event, headers),
    ...(headers["if-match"] !== undefined ? { ifMatch: parseIfMatch(headers["if-match"]) } : {}),
    ...(headers["idempotency-key"] !== undefined ? { idempotencyKey: headers["idempotency-key"] } : {}),
  });
  const body = () => parseJsonBody(rawBody(event, API_MAX_BYTES));

  switch (event.routeKey) {
    case "GET /v1/messages/{id}":
      return { action: "get", ...byId };
    case "GET /v1/messages/{id}/versions":
      return {
        action: "versions",
        ...byId,
        ...defined({ limit: number(query.limit), nextToken: query.nextToken }),
      };
    case "GET /v1/messages": {
      const { provider, appId, conversation, sender, since, until, limit, nextToken, ...key } = query;
      return {
        action: "list",
        ...defined({ provider, appId, conversation, sender, since, until, limit: number(limit), nextToken }),
        key: defined(key),
      };
    }
    case "PATCH /v1/messages/{id}":
      return { action: "edit", ...byId, body: body(), ...writes() };
    case "PATCH /v1/messages":
      return { action: "edit", target: { key: query }, body: body(), ...writes() };
    case "POST /v1/messages/{id}/restore": {
      const { version } = objectBody(body());
      return { action: "restore", ...byId, version, ...writes() };
    }
    case "DELETE /v1/messages/{id}/versions": {
      const reason = query.reason ?? (event.body ? objectBody(body()).reason : undefined);
      return { action: "purge", ...byId, reason, actor: actorOf(event, headers) };
    }
    case "POST /v1/edits":
      return { action: "createJob", body: body(), actor: actorOf(event, headers) };
    case "GET /v1/edits":
      return { action: "listJobs", ...defined({ limit: number(query.limit), nextToken: query.nextToken }) };
    case "GET /v1/edits/{id}":
      return { action: "getJob", jobId: id ?? "" };
    case "POST /v1/edits/{id}/cancel":
      return { action: "cancelJob", jobId: id ?? "" };
    case "POST /v1/edits/{id}/resume":
      return { action: "resumeJob", jobId: id ?? "" };
    case "POST /v1/reconcile":
      return { action: "reconcile", body: body(), actor: actorOf(event, headers) };
    default:
      throw new NotFoundError("no such route");
  }
}

/** `If-Match: "3"` or bare `3` (a weak `W/"3"` too): the version the caller last saw. */
export function parseIfMatch(value: string): number {
  const match = /^(?:W\/)?"?(\d{1,12})"?$/.exec(value.trim());
  if (!match?.[1])
    throw new BadRequestError('If-Match must be a version, as "3" or 3', { code: "validation_failed" });
  return Number(match[1]);
}

/**
 * What API Gateway's IAM authorizer says about the caller (the event's type declares `cognitoIdentity`
 * null; with identity pool credentials it is filled in). Only the fields `actorOf` reads.
 */
const IamCaller = z.object({
  authorizer: z.object({
    iam: z.object({
      userArn: z.optional(z.nullable(z.string())),
      cognitoIdentity: z.optional(z.nullable(z.object({ amr: z.optional(z.nullable(z.array(z.string()))) }))),
    }),
  }),
});

/** A user pool sign-in in an identity's `amr`: `cognito-idp.<region>.amazonaws.com/<pool>:CognitoSignIn:<sub>`. */
const COGNITO_SIGN_IN = /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com\/[\w-]+:CognitoSignIn:([\w-]{1,128})$/;

/**
 * Who is editing: an operator signed in through the console's identity pool as `cognito:<sub>` (their
 * user pool id, stable across sessions, where the userArn names only the shared role's session); else
 * the IAM caller behind API Gateway; locally an optional `X-Actor`; else `api`.
 */
export function actorOf(event: APIGatewayProxyEventV2, headers: Record<string, string | undefined>): string {
  const parsed = z.safeParse(IamCaller, event.requestContext);
  const iam = parsed.success ? parsed.data.authorizer.iam : undefined;
  const signIn = (iam?.cognitoIdentity?.amr ?? [])
    .map((entry) => COGNITO_SIGN_IN.exec(entry)?.[1])
    .find((sub) => sub !== undefined);
  if (signIn !== undefined) return `cognito:${signIn}`;
  return iam?.userArn ?? headers["x-actor"]?.slice(0, 256) ?? "api";
}

function objectBody(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BadRequestError("body must be a JSON object", { code: "validation_failed" });
  }
  return value as Record<string, unknown>;
}

function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

export type { Operation };
