// The pieces every operation of the OpenAPI document is made of: tags, parameters, bodies, headers and
// the responses (success and the error envelope) routes share.
import type * as z from "../../zod.ts";
import {
  type HeaderObject,
  type JsonSchema,
  type OperationObject,
  type ParameterObject,
  type ResponseObject,
  ref,
  requestSchema,
} from "./shapes.ts";

export const TAGS = [
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
export type Tag = (typeof TAGS)[number]["name"];

/** Operations keyed by "METHOD /path", each with its tags. */
export type TaggedOperations = Partial<Record<string, OperationObject & { readonly tags: readonly Tag[] }>>;

/** A parameter whose schema and whether it is required are the handler's field's. */
export function parameter(
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

/** A paged listing's `limit` and `nextToken`, with the handler's fields' schemas. */
export const pageOf = (limit: z.core.$ZodType, nextToken: z.core.$ZodType): ParameterObject[] => [
  parameter("limit", "query", limit, "Items per page"),
  parameter("nextToken", "query", nextToken, "The previous page's `nextToken`"),
];

/** Free-form query parameters (`msgKey=…&from=…`): one object, each property its own parameter. */
export const keyParameters = (field: z.core.$ZodType, description: string): ParameterObject => ({
  ...parameter("key", "query", field, description),
  style: "form",
  explode: true,
});

export const jsonContent = (schema: JsonSchema) => ({ "application/json": { schema } });

export const body = (schema: JsonSchema, description: string, required = true) => ({
  required,
  description,
  content: jsonContent(schema),
});

export const HEADERS = {
  etag: {
    description: 'The record\'s version, as a strong ETag ("3"): send it back as If-Match',
    schema: { type: "string" },
  },
  location: { description: "The job's URL (`/v1/edits/{id}`)", schema: { type: "string" } },
  retryAfter: { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 0 } },
} satisfies Record<string, HeaderObject>;

export const ok = (
  description: string,
  schema: JsonSchema,
  headers?: Record<string, HeaderObject>,
): ResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: jsonContent(schema),
});

export const failure = (description: string, headers?: Record<string, HeaderObject>): ResponseObject =>
  ok(description, ref("Error"), headers);

/** What any `/v1` route can answer besides its own. */
export const API_FAILURES: Record<string, ResponseObject> = {
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

export const BAD_REQUEST = failure(
  "Malformed JSON (`invalid_json`) or a field that breaks the schema (`validation_failed`, `details` by field)",
);
export const TOO_LARGE = failure("The body is larger than 64 KB (`payload_too_large`)");
export const NO_MESSAGE = failure(
  "No such message: an unknown or malformed id or key, or the provider says it does not exist",
);
export const NO_JOB = failure("No such job");

/** The edit family's answers (PATCH and restore): the record at its new version, or why not. */
export const EDIT_RESPONSES: Record<string, ResponseObject> = {
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

export function writeHeaders(edit: { idempotencyKey: z.core.$ZodType }): ParameterObject[] {
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

export const MESSAGE_ID =
  "im-edit id (`c2c_…`, `grp_…`, `pgrp_…`, `nim_…`); any other string names no message (404)";
