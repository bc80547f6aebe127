// The OpenAPI document's schemas: request schemas as JSON Schema (input side of the handlers' own zod
// schemas), the documented answer shapes as components, and the document's object types.
import type { Route } from "../../http/routes.ts";
import * as z from "../../zod.ts";

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
export const members = <T extends string>(all: Record<T, true>) => z.enum(Object.keys(all) as [T, ...T[]]);
export const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.describe(description)) as T;

/**
 * The shapes of the answers, by component name (`#/components/schemas/<name>`). Built on the first ask:
 * nothing of this document is made while the editor starts.
 */
export function answerShapes() {
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

export let shapes: ReturnType<typeof answerShapes> | undefined;

/** The answers' zod shapes (documentation of api/views.ts and `jobView`; a test parses real answers with them). */
export function responseSchemas(): ReturnType<typeof answerShapes> {
  shapes ??= answerShapes();
  return shapes;
}
export type ComponentName = keyof ReturnType<typeof answerShapes>;

export function responseComponents(): Record<string, JsonSchema> {
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

export const ref = (name: ComponentName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

// ---- The operations, by route key.

export type Method = Route["method"];

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
