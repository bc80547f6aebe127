import type { Dependencies } from "../clients.ts";
import { BadRequestError, NotFoundError } from "../core/errors.ts";
import { MESSAGE_ID_PATTERN, type MessageHead, PROVIDER_NAME_PATTERN, providerName } from "../core/model.ts";
import { parseWith, storable } from "../validation.ts";
import * as z from "../zod.ts";
import { JOB_OPERATIONS, performJob } from "./jobs.ts";
import { etag, recordView, versionView } from "./views.ts";

/**
 * Everything the editor can do, independent of how it was asked (HTTP through API Gateway, a direct
 * invoke, later a queue message). Each adapter parses its input into an Operation and renders the Reply.
 */
/**
 * Any name a provider could have (built-in or registered: the manifests decide, not this schema); one
 * that is not configured is answered by the queries, 400 `provider_not_configured`.
 */
const Provider = z.pipe(
  z
    .string()
    .check(z.regex(PROVIDER_NAME_PATTERN, "must be a provider name (2-16 lower-case letters and digits)")),
  z.transform((name: string) => providerName(name)),
);
/**
 * Strings that become parts of DynamoDB keys are bounded in UTF-8 bytes (a partition key holds 2048,
 * a sort key 1024), so no parameter can make the store refuse a query with a 5xx.
 */
const keyPart = (maxBytes: number) =>
  z
    .string()
    .check(
      z.refine((value) => Buffer.byteLength(value) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`),
    );
const AppId = z.pipe(z.string().check(z.minLength(1), z.maxLength(64)), keyPart(64));
const KeyValue = keyPart(1024);

/**
 * A message by im-edit id, or by natural key (the lookup parameters of `GET /v1/messages`). Any id string
 * is accepted here: one that is not an im-edit id names no message, a 404 (ARCHITECTURE.md: "unknown id
 * or key, malformed or not"), decided before the store is asked.
 */
export const TargetById = z.strictObject({ id: z.string() });
export const TargetByKey = z.strictObject({
  key: z.catchall(z.looseObject({ provider: Provider, appId: AppId }), KeyValue),
});
export const Target = z.union([TargetById, TargetByKey]);
export type Target = z.infer<typeof Target>;

const Actor = z._default(z.string().check(z.minLength(1), z.maxLength(256)), "invoke");
/** ISO date or date-time; normalized to a full UTC timestamp so it compares with stored times. */
const Timestamp = z.pipe(
  z.union([z.iso.datetime({ offset: true }), z.iso.date()]),
  z.transform((value: string) => new Date(value).toISOString()),
);
const PageToken = z.string().check(z.minLength(1), z.maxLength(4096));
const Version = z.number().check(z.int(), z.minimum(1));
const IdempotencyKey = z.optional(z.string().check(z.minLength(1), z.maxLength(255)));

export const Operation = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("get"), target: Target }),
  z.strictObject({
    action: z.literal("versions"),
    target: Target,
    limit: z._default(z.number().check(z.int(), z.minimum(20), z.maximum(100)), 50),
    nextToken: z.optional(PageToken),
  }),
  z.strictObject({
    action: z.literal("list"),
    provider: Provider,
    appId: AppId,
    conversation: z.optional(z.pipe(z.string().check(z.minLength(1)), keyPart(1800))),
    sender: z.optional(z.pipe(z.string().check(z.minLength(1)), keyPart(1024))),
    since: z.optional(Timestamp),
    until: z.optional(Timestamp),
    /** Natural-key parameters: when they name a key, the answer is that one record, not a list. */
    key: z.optional(z.record(z.string(), KeyValue)),
    limit: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
    nextToken: z.optional(PageToken),
  }),
  z.strictObject({
    action: z.literal("edit"),
    target: Target,
    /** Whatever the provider's editor accepts, but nothing the store could not keep as a version. */
    body: z.unknown().check(z.superRefine(storable)),
    ifMatch: z.optional(Version),
    idempotencyKey: IdempotencyKey,
    actor: Actor,
  }),
  z.strictObject({
    action: z.literal("restore"),
    target: Target,
    version: Version,
    ifMatch: z.optional(Version),
    idempotencyKey: IdempotencyKey,
    actor: Actor,
  }),
  /** Settles an edit whose outcome was unknown (queued with a delay by the editor itself). */
  z.strictObject({
    action: z.literal("resolve"),
    target: z.strictObject({ id: z.string().check(z.minLength(1), z.maxLength(128)) }),
  }),
  /** Runs the after-send rules on one recorded message (queued by the callback path: a rule applies once). */
  z.strictObject({
    action: z.literal("applyRules"),
    target: z.strictObject({ id: z.string().check(z.minLength(1), z.maxLength(128)) }),
  }),
  z.strictObject({
    action: z.literal("purge"),
    target: Target,
    reason: z.string().check(z.minLength(1), z.maxLength(1024)),
    actor: Actor,
  }),
  /** Bulk jobs and reconciliation (api/jobs.ts). */
  ...JOB_OPERATIONS,
]);
export type Operation = z.infer<typeof Operation>;

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const recordReply = (head: MessageHead): Reply => ({
  status: 200,
  body: recordView(head),
  headers: { etag: etag(head) },
});

/** `receivedAt`: when the request reached im-edit (epoch ms); an edit's wait budget counts from it. */
export async function perform(
  deps: Dependencies,
  operation: Operation,
  request: { readonly receivedAt?: number } = {},
): Promise<Reply> {
  switch (operation.action) {
    case "get":
      return recordReply(await resolve(deps, operation.target));
    case "versions": {
      const head = await resolve(deps, operation.target);
      const editor = deps.editors.get(head.provider);
      const page = await deps.queries.versions(head.id, {
        limit: operation.limit,
        ...(operation.nextToken !== undefined ? { nextToken: operation.nextToken } : {}),
      });
      return {
        status: 200,
        body: {
          items: page.items.map((version) => versionView(version, editor)),
          ...(page.nextToken !== undefined ? { nextToken: page.nextToken } : {}),
        },
      };
    }
    case "list": {
      if (
        operation.since !== undefined &&
        operation.until !== undefined &&
        operation.since > operation.until
      ) {
        throw new BadRequestError("since is after until", { code: "validation_failed" });
      }
      const { action: _, key, ...query } = operation;
      const found = key ? await deps.queries.lookup(operation.provider, operation.appId, key) : undefined;
      if (found) return recordReply(found);
      const page = await deps.queries.list(withoutUndefined(query));
      return {
        status: 200,
        body: {
          items: page.items.map(recordView),
          ...(page.nextToken !== undefined ? { nextToken: page.nextToken } : {}),
        },
      };
    }
    case "edit": {
      const id = await resolveId(deps, operation.target);
      const result = await deps.edits.edit(id, operation.body, editOptions(operation, request.receivedAt));
      return recordReply(result.head);
    }
    case "restore": {
      const id = await resolveId(deps, operation.target);
      const result = await deps.edits.restore(
        id,
        operation.version,
        editOptions(operation, request.receivedAt),
      );
      return recordReply(result.head);
    }
    case "resolve": {
      // Still unknown is an answer, not a failure: resolution has already scheduled its next attempt.
      const outcome = await deps.edits.resolve(operation.target.id);
      return { status: outcome === "unknown" ? 202 : 200, body: { id: operation.target.id, outcome } };
    }
    case "applyRules":
      return { status: 200, body: await deps.applyRules(operation.target.id) };
    case "createJob":
    case "getJob":
    case "listJobs":
    case "cancelJob":
    case "resumeJob":
    case "reconcile":
    case "runJob":
    case "sweepJobs":
      return performJob(deps, operation);
    case "purge": {
      const id = await resolveId(deps, operation.target);
      const result = await deps.edits.purge(id, operation.reason, operation.actor);
      return { status: 200, body: { id: result.head.id, purged: result.purged } };
    }
  }
}

/** The id a target names; by id it needs no read (the operation reads the message anyway). */
async function resolveId(deps: Dependencies, target: Target): Promise<string> {
  return "id" in target ? knownShape(target.id) : (await resolve(deps, target)).id;
}

/** An id that cannot be an im-edit id is an unknown id: 404, and no store call (DynamoDB keys are bounded). */
function knownShape(id: string): string {
  if (!MESSAGE_ID_PATTERN.test(id)) throw new NotFoundError(`no message ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

async function resolve(deps: Dependencies, target: Target): Promise<MessageHead> {
  if ("id" in target) return deps.queries.get(target.id);
  const { provider, appId, ...params } = target.key;
  const found = await deps.queries.lookup(provider, appId, params as Record<string, string>);
  if (!found)
    throw new BadRequestError("the key names no message: give the natural-key fields", {
      code: "validation_failed",
    });
  return found;
}

function editOptions(
  operation: {
    ifMatch?: number | undefined;
    idempotencyKey?: string | undefined;
    actor: string;
  },
  receivedAt: number | undefined,
) {
  return {
    actor: operation.actor,
    ...(receivedAt !== undefined ? { receivedAt } : {}),
    ...(operation.ifMatch !== undefined ? { ifMatch: operation.ifMatch } : {}),
    ...(operation.idempotencyKey !== undefined ? { idempotencyKey: operation.idempotencyKey } : {}),
  };
}

/** exactOptionalPropertyTypes: optional fields are absent, never `undefined`. */
export function withoutUndefined<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as never;
}

export function parseOperation(input: unknown): Operation {
  return parseWith(Operation, input, "invalid request");
}
