import { PROVIDER_NAME_PATTERN } from "../core/model.ts";
import { type HttpResult, json } from "../http/respond.ts";
import { ROUTES, type Route, routeKey } from "../http/routes.ts";
import { EDITOR_PROVIDERS } from "../providers/editor-providers.ts";
import * as z from "../zod.ts";
import { CreateJobBody, ReconcileBody } from "./jobs.ts";
import { Operation, TargetById, TargetByKey } from "./operations.ts";

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the zod schemas the
 * handlers parse with (requests: their input side) and from the documented shapes of the answers below.
 * Built on the first request and kept: the editor imports this module only then, so its cold start does
 * not pay for the JSON Schema conversion.
 */

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as this document holds it. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** How every request schema is converted: what a client sends (before transforms and defaults). */
export const REQUEST_JSON_SCHEMA = { target: "draft-2020-12", io: "input", unrepresentable: "any" } as const;

/** A handler's schema as this document shows it (without `$schema`: OpenAPI 3.1 sets the dialect). */
export function requestSchema(schema: z.core.$ZodType): JsonSchema {
  const { $schema: _, ...converted } = z.toJSONSchema(schema, REQUEST_JSON_SCHEMA);
  return converted;
}

// ---- The answers' shapes: documentation of api/views.ts and api/jobs.ts `jobView` (a test parses real ones).

/** Every member of a string union, once: the compiler says when the model's union gains one. */
const members = <T extends string>(all: Record<T, true>) => z.enum(Object.keys(all) as [T, ...T[]]);
const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.describe(description)) as T;

/**
 * The shapes of the answers, by component name (`#/components/schemas/<name>`). Built on the first ask:
 * nothing of this document is made while the editor starts.
 */
function answerShapes() {
  const Time = described(z.iso.datetime(), "ISO 8601 time, UTC");
  const Count = z.number().check(z.int(), z.minimum(0));
  const Json = z.record(z.string(), z.unknown());
  const NextToken = described(
    z.string(),
    "Opaque: pass it back as `nextToken` for the next page; absent on the last",
  );

  const MessageRecord = described(
    z.strictObject({
      id: described(z.string(), "im-edit id: `<prefix>_<26 base32 characters>` (c2c_, grp_, pgrp_, nim_)"),
      provider: z.string(),
      appId: z.string(),
      kind: members({ c2c: true, group: true, p2p: true, team: true, superteam: true }),
      key: described(
        z.record(z.string(), z.string()),
        "The provider's natural key and auxiliary ids, as strings",
      ),
      conversation: described(z.string(), "Opaque: pass it back as the list's `conversation` filter"),
      sender: z.optional(z.string()),
      operator: z.optional(described(z.string(), "Who made the provider send it, when not the sender")),
      state: members({ pending: true, sent: true, failed: true, recalled: true }),
      version: described(Count, "The current version (0 while nothing was delivered); also the ETag"),
      content: described(Json, "Provider-specific content (Tencent: MsgBody, CloudCustomData)"),
      editable: z.boolean(),
      notEditableReason: z.optional(z.string()),
      sendError: z.optional(z.strictObject({ code: z.number(), info: z.string() })),
      createdAt: Time,
      updatedAt: Time,
    }),
    "A recorded message at its current version",
  );

  const MessageVersion = described(
    z.strictObject({
      version: z.number().check(z.int(), z.minimum(1)),
      content: described(Json, "Empty once purged"),
      contentHash: z.string(),
      source: members({
        callback: true,
        app: true,
        api: true,
        auto: true,
        restore: true,
        client: true,
        reconcile: true,
      }),
      actor: z.optional(z.string()),
      at: Time,
      ruleId: z.optional(z.string()),
      jobId: z.optional(z.string()),
      idempotencyKey: z.optional(z.string()),
      providerRequestId: z.optional(z.string()),
      purged: z.optional(z.strictObject({ at: Time, by: z.string(), reason: z.string() })),
      restorable: described(z.boolean(), "Whether `POST /v1/messages/{id}/restore` can send it back"),
      notRestorableReason: z.optional(z.string()),
    }),
    "One version of a message",
  );

  const Selector = z.strictObject({
    provider: z.string(),
    appId: z.string(),
    conversation: z.optional(z.string()),
    sender: z.optional(z.string()),
    since: z.optional(Time),
    until: z.optional(Time),
    text: z.optional(described(z.string(), "A rule pattern on the message's text")),
  });

  const JobStatus = members({ queued: true, running: true, cancelled: true, done: true, failed: true });

  const Job = described(
    z.strictObject({
      id: z.string(),
      kind: members({ edit: true, reconcile: true }),
      status: JobStatus,
      dryRun: z.boolean(),
      matched: Count,
      done: described(Count, "Edited (reconcile: records created)"),
      failed: described(Count, "Refused by the provider"),
      skipped: described(Count, "Needed no change or not editable (reconcile: already recorded)"),
      ratePerSec: described(z.number().check(z.minimum(0)), "Provider calls per second over the last 10 s"),
      etaSeconds: z.optional(Count),
      createdAt: Time,
      updatedAt: Time,
      startedAt: z.optional(Time),
      finishedAt: z.optional(Time),
      selector: z.optional(Selector),
      rule: z.optional(z.string()),
      action: z.optional(
        described(Json, "The rule action applied (replace, redact, mergeCustomData, replaceText)"),
      ),
      edit: z.optional(described(z.literal(true), "It applies an edit body (not repeated here)")),
      reconcile: z.optional(
        z.strictObject({
          provider: z.string(),
          appId: z.string(),
          pair: z.optional(z.tuple([z.string(), z.string()])),
          groupId: z.optional(z.string()),
          topicId: z.optional(z.string()),
          since: Time,
          until: Time,
        }),
      ),
      error: z.optional(described(z.string(), "Why it failed, or the last refusal (never content)")),
      preview: z.optional(
        described(
          z.array(z.strictObject({ id: z.string(), before: Json, after: Json })),
          "A dry run's first 100 changes: text and custom data before and after",
        ),
      ),
    }),
    "A bulk job (edit or reconcile) with its progress",
  );

  const page = <T extends z.core.$ZodType>(item: T, description: string) =>
    described(z.strictObject({ items: z.array(item), nextToken: z.optional(NextToken) }), description);

  const ErrorBody = described(
    z.strictObject({
      error: z.strictObject({
        code: described(
          z.string(),
          "Stable, machine-readable (validation_failed, not_found, lease_held, ...)",
        ),
        message: described(z.string(), "Safe to show; never a stack or a secret"),
        providerCode: z.optional(described(z.union([z.number(), z.string()]), "The provider's own code")),
        details: z.optional(
          described(z.unknown(), "Validation issues by field; for 504 the message and its status URL"),
        ),
      }),
      outcome: z.optional(
        described(z.literal("unknown"), "504 only: the edit may or may not have been applied"),
      ),
    }),
    "Every error im-edit answers",
  );

  return {
    MessageRecord,
    MessageVersion,
    MessagePage: page(MessageRecord, "A page of records, newest first"),
    VersionPage: page(MessageVersion, "A page of versions, oldest first"),
    Purged: z.strictObject({ id: z.string(), purged: described(Count, "Versions whose content was purged") }),
    Job,
    JobPage: page(Job, "A page of jobs, newest first"),
    JobAccepted: z.strictObject({ id: z.string(), status: JobStatus }),
    Error: ErrorBody,
    GatewayMessage: described(
      z.strictObject({ message: z.string() }),
      "API Gateway's own answer (AWS only): an IAM refusal (403) or its throttle (429)",
    ),
  } as const;
}

let shapes: ReturnType<typeof answerShapes> | undefined;

/** The answers' zod shapes (documentation of api/views.ts and `jobView`; a test parses real answers with them). */
export function responseSchemas(): ReturnType<typeof answerShapes> {
  shapes ??= answerShapes();
  return shapes;
}
type ComponentName = keyof ReturnType<typeof answerShapes>;

function responseComponents(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(responseSchemas())) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io: "output",
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Each is a component of this document, not a schema resource of its own.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]),
  );
}

const ref = (name: ComponentName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

// ---- The operations, by route key.

type Method = Route["method"];

export interface ParameterObject {
  readonly name: string;
  readonly in: "path" | "query" | "header";
  readonly required: boolean;
  readonly description: string;
  readonly schema: JsonSchema;
  readonly style?: "form";
  readonly explode?: boolean;
}

export interface HeaderObject {
  readonly description: string;
  readonly schema: JsonSchema;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject>>;
  readonly content?: { readonly "application/json": { readonly schema: JsonSchema } };
}

export interface OperationObject {
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly description: string;
    readonly content: { readonly "application/json": { readonly schema: JsonSchema } };
  };
  readonly responses: Readonly<Record<string, ResponseObject>>;
  /** `[]`: open (no credentials). */
  readonly security?: readonly never[];
}

export interface SecuritySchemeObject {
  readonly type: "apiKey" | "http";
  readonly description: string;
  readonly name?: string;
  readonly in?: "header";
  readonly scheme?: "bearer";
}

export interface OpenApiDocument {
  readonly openapi: "3.1.0";
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<Lowercase<Method>, OperationObject>>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, SecuritySchemeObject>>;
  };
  readonly security: readonly Readonly<Record<string, readonly never[]>>[];
}

const TAGS = [
  { name: "messages", description: "Recorded messages: find, read, edit, restore" },
  { name: "versions", description: "A message's history: list and purge" },
  { name: "jobs", description: "Bulk edits and reconcile jobs: start, dry-run, watch, cancel, resume" },
  { name: "contract", description: "This document" },
  {
    name: "callbacks",
    description:
      "Where the providers post their callbacks: open, each request verified in code (not for API clients)",
  },
] as const;
type Tag = (typeof TAGS)[number]["name"];

/** A parameter whose schema and whether it is required are the handler's field's. */
function parameter(
  name: string,
  where: ParameterObject["in"],
  field: z.core.$ZodType,
  description: string,
): ParameterObject {
  return {
    name,
    in: where,
    // Optional or defaulted in the handler's schema: the client may leave it out.
    required: where === "path" || field._zod.optin === undefined,
    description,
    schema: requestSchema(field),
  };
}

/** Free-form query parameters (`msgKey=…&from=…`): one object, each property its own parameter. */
const keyParameters = (field: z.core.$ZodType, description: string): ParameterObject => ({
  ...parameter("key", "query", field, description),
  style: "form",
  explode: true,
});

const jsonContent = (schema: JsonSchema) => ({ "application/json": { schema } });

const body = (schema: JsonSchema, description: string, required = true) => ({
  required,
  description,
  content: jsonContent(schema),
});

const HEADERS = {
  etag: {
    description: 'The record\'s version, as a strong ETag ("3"): send it back as If-Match',
    schema: { type: "string" },
  },
  location: { description: "The job's URL (`/v1/edits/{id}`)", schema: { type: "string" } },
  retryAfter: { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 0 } },
} satisfies Record<string, HeaderObject>;

const ok = (
  description: string,
  schema: JsonSchema,
  headers?: Record<string, HeaderObject>,
): ResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: jsonContent(schema),
});

const failure = (description: string, headers?: Record<string, HeaderObject>): ResponseObject =>
  ok(description, ref("Error"), headers);

/** What any `/v1` route can answer besides its own. */
const API_FAILURES: Record<string, ResponseObject> = {
  "401": ok(
    "npm start: the bearer token is missing or wrong (`unauthorized`, WWW-Authenticate: Bearer)",
    ref("Error"),
  ),
  "403": ok("AWS: API Gateway refused the SigV4 signature or the caller's IAM policy", ref("GatewayMessage")),
  "429": ok(
    "Throttled: the provider's rate would not free a slot in time (`Retry-After`), or API Gateway's stage limit (its own message)",
    { anyOf: [ref("Error"), ref("GatewayMessage")] },
    { "Retry-After": HEADERS.retryAfter },
  ),
  "500": failure("A bug: `internal`, without detail"),
  "503": failure("The store (or the provider) is unavailable; nothing was applied", {
    "Retry-After": HEADERS.retryAfter,
  }),
};

const BAD_REQUEST = failure(
  "Malformed JSON (`invalid_json`) or a field that breaks the schema (`validation_failed`, `details` by field)",
);
const TOO_LARGE = failure("The body is larger than 64 KB (`payload_too_large`)");
const NO_MESSAGE = failure(
  "No such message: an unknown or malformed id or key, or the provider says it does not exist",
);
const NO_JOB = failure("No such job");

/** The edit family's answers (PATCH and restore): the record at its new version, or why not. */
const EDIT_RESPONSES: Record<string, ResponseObject> = {
  "200": ok("Edited: the record at its new version", ref("MessageRecord"), { ETag: HEADERS.etag }),
  "400": BAD_REQUEST,
  "404": NO_MESSAGE,
  "409": failure(
    "Not now or never: recalled, failed, pending, not editable, too old (`too_old`), busy (`lease_held`, " +
      "`previous_edit_unknown`, `write_contention`), the same Idempotency-Key still in flight",
  ),
  "412": failure("If-Match: the message is no longer at that version (nothing was sent)"),
  "413": TOO_LARGE,
  "422": failure(
    "Content the provider would refuse (`content_refused`), a version that cannot be sent back (`not_restorable`), " +
      "an Idempotency-Key used with another request (`idempotency_mismatch`)",
  ),
  "502": failure("The provider refused our credentials or configuration (`providerCode`)"),
  "504": failure(
    'The call was sent but not answered: `"outcome": "unknown"`; `details.status` is where the settled state shows',
  ),
};

function writeHeaders(edit: { idempotencyKey: z.core.$ZodType }): ParameterObject[] {
  return [
    {
      name: "If-Match",
      in: "header",
      required: false,
      description:
        'The version last seen, as "3" (or 3, W/"3"): 412 if the message moved on, before any provider call',
      schema: { type: "string" },
    },
    parameter(
      "Idempotency-Key",
      "header",
      edit.idempotencyKey,
      "The same key with the same request answers the first result without a second call (24 h); with another request, 422",
    ),
    {
      name: "X-Actor",
      in: "header",
      required: false,
      description:
        "npm start: who is editing, kept on the version (AWS: the IAM caller, or cognito:<sub> for the console)",
      schema: { type: "string" },
    },
  ];
}

const MESSAGE_ID =
  "im-edit id (`c2c_…`, `grp_…`, `pgrp_…`, `nim_…`); any other string names no message (404)";

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
            "not configured (`provider_not_configured`), a page token not ours (`invalid_next_token`)",
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
      responses: EDIT_RESPONSES,
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
            "`since` not before `until`, a provider not configured",
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
      description: "A job of `kind: reconcile` (watch, cancel and resume it as any job).",
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
