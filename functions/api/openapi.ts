import { PROVIDER_NAME_PATTERN } from "../core/model.ts";
import { type HttpResult, json } from "../http/respond.ts";
import { ROUTES, routeKey } from "../http/routes.ts";
import { EDITOR_PROVIDERS } from "../providers/editor-providers.ts";
import * as z from "../zod.ts";
import { CreateJobBody, ReconcileBody } from "./jobs.ts";
import {
  API_FAILURES,
  BAD_REQUEST,
  body,
  EDIT_RESPONSES,
  failure,
  HEADERS,
  keyParameters,
  MESSAGE_ID,
  NO_JOB,
  NO_MESSAGE,
  ok,
  parameter,
  TAGS,
  type Tag,
  TOO_LARGE,
  writeHeaders,
} from "./openapi/parts.ts";
import {
  type Method,
  type OpenApiDocument,
  type OperationObject,
  ref,
  requestSchema,
  responseComponents,
} from "./openapi/shapes.ts";
import { Operation, TargetById, TargetByKey } from "./operations.ts";

function operations(): Partial<Record<string, OperationObject & { readonly tags: readonly Tag[] }>> {
  const versions = z.getDiscriminatedOption(Operation, "versions").shape;
  const list = z.getDiscriminatedOption(Operation, "list").shape;
  const edit = z.getDiscriminatedOption(Operation, "edit").shape;
  const restore = z.getDiscriminatedOption(Operation, "restore").shape;
  const purge = z.getDiscriminatedOption(Operation, "purge").shape;
  const listJobs = z.getDiscriminatedOption(Operation, "listJobs").shape;
  const messageId = parameter("id", "path", TargetById.shape.id, MESSAGE_ID);
  const jobId = (action: "getJob" | "cancelJob" | "resumeJob") =>
    parameter(
      "id",
      "path",
      z.getDiscriminatedOption(Operation, action).shape.jobId,
      "Job id (`job_…`); any other string names no job (404)",
    );
  const pageOf = (limit: z.core.$ZodType, nextToken: z.core.$ZodType) => [
    parameter("limit", "query", limit, "Items per page"),
    parameter("nextToken", "query", nextToken, "The previous page's `nextToken`"),
  ];
  const editBodies = EDITOR_PROVIDERS.flatMap((provider) =>
    provider.editBody ? [{ title: provider.name, ...requestSchema(provider.editBody) }] : [],
  );

  return {
    "GET /v1/messages": {
      operationId: "findMessages",
      tags: ["messages"],
      summary: "Find messages, or look one up by its natural key",
      description:
        "A list by provider and app, narrowed by conversation, sender and send time; or, when the other query " +
        "parameters name a natural key (Tencent C2C `msgKey` [+ `from`, `to`]; group `groupId` + `msgSeq` " +
        "[+ `topicId`]; Yunxin `msgId`), that one record.",
      parameters: [
        parameter("provider", "query", list.provider, "Provider name (tencent, netease)"),
        parameter("appId", "query", list.appId, "The provider's app (Tencent SDKAppID, Yunxin AppKey)"),
        parameter("conversation", "query", list.conversation, "As a record's `conversation` shows it"),
        parameter("sender", "query", list.sender, "The sender's account"),
        parameter("since", "query", list.since, "Sent at or after (ISO 8601 date or time)"),
        parameter("until", "query", list.until, "Sent before (ISO 8601 date or time)"),
        ...pageOf(list.limit, list.nextToken),
        keyParameters(
          list.key,
          "Natural-key fields: `msgKey`, `from`, `to`, `groupId`, `msgSeq`, `topicId`, `msgId`",
        ),
      ],
      responses: {
        "200": ok(
          "A page of records, newest first; or the one record a natural key names (with its ETag)",
          { oneOf: [ref("MessagePage"), ref("MessageRecord")] },
          { ETag: HEADERS.etag },
        ),
        "400": failure(
          "A parameter breaks the schema, `since` after `until`, an incomplete key (`key_too_broad`), a provider " +
            "not configured (`provider_not_configured`), a page token not ours (`invalid_next_token`), a listing " +
            "or partial key the deployment's `LISTINGS` leave out (`listing_disabled`; whole keys always work)",
        ),
        "409": failure(
          "`ambiguous_key`: a MsgKey that matches several messages (the candidates in `details`)",
        ),
      },
    },
    "GET /v1/messages/{id}": {
      operationId: "getMessage",
      tags: ["messages"],
      summary: "A message: its state, keys and current content",
      parameters: [messageId],
      responses: {
        "200": ok("The record", ref("MessageRecord"), { ETag: HEADERS.etag }),
        "404": NO_MESSAGE,
      },
    },
    "PATCH /v1/messages/{id}": {
      operationId: "editMessage",
      tags: ["messages"],
      summary: "Edit a message's text or custom data at the provider",
      description:
        'The body is the message\'s provider\'s edit body. Both take `{ "text": "…" }`. The edit takes the ' +
        "message's lease, calls the provider's modify API within its rate, and records a version (`source: api`).",
      parameters: [messageId, ...writeHeaders(edit)],
      requestBody: body({ anyOf: editBodies }, "The message's provider's edit body (by `title`)"),
      responses: EDIT_RESPONSES,
    },
    "PATCH /v1/messages": {
      operationId: "editMessageByKey",
      tags: ["messages"],
      summary: "Edit a message named by its natural key",
      description: "As `PATCH /v1/messages/{id}`, the message named by the query's natural key.",
      parameters: [
        keyParameters(
          TargetByKey.shape.key,
          "`provider`, `appId` and the natural-key fields (as `GET /v1/messages`)",
        ),
        ...writeHeaders(edit),
      ],
      requestBody: body({ anyOf: editBodies }, "One provider's edit body (by `title`)"),
      responses: {
        ...EDIT_RESPONSES,
        "400": failure(
          "Malformed JSON (`invalid_json`), a field that breaks the schema (`validation_failed`), or a partial " +
            "key without the app listing (`listing_disabled`; the whole natural key always works)",
        ),
      },
    },
    "POST /v1/messages/{id}/restore": {
      operationId: "restoreVersion",
      tags: ["versions"],
      summary: "Edit a message back to one of its versions",
      description:
        "Sends every field of that version (empty values for absent ones): a new version, `source: restore`.",
      parameters: [messageId, ...writeHeaders(restore)],
      requestBody: body(requestSchema(z.object({ version: restore.version })), "The version to send back"),
      responses: EDIT_RESPONSES,
    },
    "GET /v1/messages/{id}/versions": {
      operationId: "listVersions",
      tags: ["versions"],
      summary: "Every version of a message, oldest first",
      parameters: [messageId, ...pageOf(versions.limit, versions.nextToken)],
      responses: {
        "200": ok("A page of versions; each says whether it can be restored", ref("VersionPage")),
        "400": failure("A parameter breaks the schema, or a page token not ours"),
        "404": NO_MESSAGE,
      },
    },
    "DELETE /v1/messages/{id}/versions": {
      operationId: "purgeHistory",
      tags: ["versions"],
      summary: "Purge a message's history",
      description:
        "Every version but the newest loses its content, keeping its hash, actor and time, and who purged it, " +
        "when and why. The reason comes in the query or in the body.",
      parameters: [
        messageId,
        {
          ...parameter("reason", "query", purge.reason, "Why (kept on every purged version)"),
          required: false,
        },
      ],
      requestBody: body(
        requestSchema(z.object({ reason: purge.reason })),
        "Instead of the query's reason",
        false,
      ),
      responses: {
        "200": ok("Purged", ref("Purged")),
        "400": BAD_REQUEST,
        "404": NO_MESSAGE,
        "409": failure("The message is busy with an edit"),
        "413": TOO_LARGE,
      },
    },
    "POST /v1/edits": {
      operationId: "startJob",
      tags: ["jobs"],
      summary: "Start a bulk edit (or its dry run)",
      description:
        "Every recorded message the selector picks gets exactly one of an edit body, a rule by id, or a rule " +
        "action, at the provider's configured rate. A dry run calls no provider and previews up to 100 changes.",
      requestBody: body(requestSchema(CreateJobBody), "The selector and what to do"),
      responses: {
        "202": ok("Queued", ref("JobAccepted"), { Location: HEADERS.location }),
        "400": failure(
          "A field breaks the schema, not exactly one of edit/rule/action, an unknown rule, a bad pattern, " +
            "`since` not before `until`, a provider not configured, a selector whose listing is off " +
            "(`listing_disabled`: a conversation needs `conversation`, none needs `app`)",
        ),
        "413": TOO_LARGE,
      },
    },
    "GET /v1/edits": {
      operationId: "listJobs",
      tags: ["jobs"],
      summary: "Jobs, newest first",
      parameters: pageOf(listJobs.limit, listJobs.nextToken),
      responses: {
        "200": ok("A page of jobs", ref("JobPage")),
        "400": failure("A parameter breaks the schema, or a page token not ours"),
      },
    },
    "GET /v1/edits/{id}": {
      operationId: "getJob",
      tags: ["jobs"],
      summary: "A job and its progress (counts, rate, ETA, a dry run's preview)",
      parameters: [jobId("getJob")],
      responses: { "200": ok("The job", ref("Job")), "404": NO_JOB },
    },
    "POST /v1/edits/{id}/cancel": {
      operationId: "cancelJob",
      tags: ["jobs"],
      summary: "Cancel a job",
      description: "Calls in flight may finish; none starts after the answer.",
      parameters: [jobId("cancelJob")],
      responses: {
        "200": ok("Cancelled", ref("Job")),
        "404": NO_JOB,
        "409": failure("`job_finished` (done, failed or cancelled already), or busy (`write_contention`)"),
      },
    },
    "POST /v1/edits/{id}/resume": {
      operationId: "resumeJob",
      tags: ["jobs"],
      summary: "Resume a cancelled, failed or interrupted job from its checkpoint",
      parameters: [jobId("resumeJob")],
      responses: {
        "202": ok("Queued again", ref("JobAccepted"), { Location: HEADERS.location }),
        "404": NO_JOB,
        "409": failure("`job_finished` (done), or busy (`write_contention`)"),
      },
    },
    "POST /v1/reconcile": {
      operationId: "startReconcile",
      tags: ["jobs"],
      summary: "Record what no callback reported, from the provider's history of one conversation",
      description: "A job of `kind: reconcile` (watch, cancel and resume it like every other job).",
      requestBody: body(
        requestSchema(ReconcileBody),
        "The conversation (a pair of accounts, or a group) and [since, until)",
      ),
      responses: {
        "202": ok("Queued", ref("JobAccepted"), { Location: HEADERS.location }),
        "400": failure(
          "A field breaks the schema, not exactly one of pair/groupId, a provider without a history API " +
            "(`reconcile_unsupported`) or not configured",
        ),
        "413": TOO_LARGE,
      },
    },
    "GET /openapi.json": {
      operationId: "getOpenApi",
      tags: ["contract"],
      summary: "This OpenAPI document",
      security: [],
      responses: { "200": ok("OpenAPI 3.1", { type: "object" }) },
    },
    "POST /callbacks/{provider}": {
      operationId: "postCallback",
      tags: ["callbacks"],
      summary: "A provider's callback (Tencent Cloud Chat, NetEase Yunxin message copies)",
      description:
        "Configured in the provider's console, not called by API clients. Verified before anything is parsed: " +
        "Tencent signs the query (`SdkAppid`, `CallbackCommand`, `RequestTime`, `Sign`), Yunxin the headers " +
        "(`AppKey`, `CurTime`, `MD5`, `CheckSum`).",
      security: [],
      parameters: [
        parameter(
          "provider",
          "path",
          z.string().check(z.regex(PROVIDER_NAME_PATTERN)),
          "A configured provider (tencent, netease)",
        ),
      ],
      requestBody: body({ type: "object" }, "The provider's callback, as it sends it"),
      responses: {
        "200": ok(
          "The answer the provider expects (a before-send's answer can rewrite or block the message)",
          {
            type: "object",
          },
        ),
        "400": failure("Unreadable callback"),
        "401": failure("Bad or stale signature"),
        "403": failure("Another app than the configured one"),
        "404": failure("No such provider configured"),
        "413": TOO_LARGE,
        "503": failure("Not stored and no durable fallback: the provider should retry"),
      },
    },
  };
}

function buildDocument(): OpenApiDocument {
  const defined = operations();
  const paths: Record<string, Partial<Record<Lowercase<Method>, OperationObject>>> = {};
  // The route table decides what exists; an operation without a route is not published (a test checks both ways).
  for (const route of ROUTES) {
    const operation = defined[routeKey(route)];
    if (!operation) continue;
    const withFailures: OperationObject =
      route.auth === "api"
        ? { ...operation, responses: { ...API_FAILURES, ...operation.responses } }
        : operation;
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: withFailures };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "im-edit",
      version: "v1",
      description:
        "Record and edit already-sent messages on Tencent Cloud Chat and NetEase Yunxin. `/v1` needs SigV4 " +
        "(IAM, `execute-api:Invoke`) behind API Gateway, or `Authorization: Bearer $IM_EDIT_API_TOKEN` with " +
        "`npm start`. Errors are always `{ error: { code, message, providerCode?, details? } }`.",
    },
    tags: TAGS,
    paths,
    components: {
      schemas: responseComponents(),
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description:
            "AWS: a Signature Version 4 signature (service `execute-api`) by a caller allowed " +
            "`execute-api:Invoke` on the API's `/v1/*` (an IAM user or role, or the console's Cognito identity)",
        },
        bearer: { type: "http", scheme: "bearer", description: "npm start: `IM_EDIT_API_TOKEN`" },
      },
    },
    security: [{ sigv4: [] }, { bearer: [] }],
  };
}

let document: OpenApiDocument | undefined;
let answer: HttpResult | undefined;

/** The document, built once. */
export function openApiDocument(): OpenApiDocument {
  document ??= buildDocument();
  return document;
}

/** `GET /openapi.json`'s answer: the document as JSON, serialized once. */
export function openApiResult(): HttpResult {
  answer ??= json(200, openApiDocument(), { "cache-control": "public, max-age=300" });
  return answer;
}
