import { BadRequestError } from "../core/errors.ts";
import { EVENT_SOURCE } from "../core/outbox.ts";

/** The one detail-type im-edit takes in: its detail is the direct-invoke edit payload. */
export const EDIT_REQUESTED = "EditRequested";

/**
 * What an EditRequested may ask for: `edit` (the default when `action` is absent) and `restore`, the two
 * operations that write a version. Reads have no one to answer to, and `purge` (destroys content) stays
 * with callers the API or a direct invoke authorizes, not whoever may put events on the bus.
 */
const ACCEPTED_ACTIONS: ReadonlySet<string> = new Set(["edit", "restore"]);

/** The actor of an event's edit when its detail names none. */
export const EVENT_ACTOR = "event";

/**
 * An event envelope, normalized: as a Lambda target or an SQS target of an EventBridge rule receives it
 * (`{ source, "detail-type", detail, id, ... }`), or as a PutEvents entry (`{ Source, DetailType, Detail }`,
 * Detail a JSON string) sent to an SQS queue or the local `/_local/events` route.
 */
export interface EventEnvelope {
  readonly source: unknown;
  readonly detailType: unknown;
  readonly detail: unknown;
  /** EventBridge's event id: the same event redelivered has the same one. */
  readonly id?: string;
}

type Loose = Readonly<Record<string, unknown>>;
const isObject = (value: unknown): value is Loose =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The envelope, when `value` looks like an event (either shape); undefined for anything else. */
export function eventEnvelope(value: unknown): EventEnvelope | undefined {
  if (!isObject(value)) return undefined;
  if ("detail-type" in value && "detail" in value) {
    return {
      source: value.source,
      detailType: value["detail-type"],
      detail: value.detail,
      ...(typeof value.id === "string" ? { id: value.id } : {}),
    };
  }
  if ("DetailType" in value && "Detail" in value) {
    return { source: value.Source, detailType: value.DetailType, detail: value.Detail };
  }
  return undefined;
}

/**
 * The direct-invoke payload an EditRequested carries, for `parseOperation`: `action` defaults to `edit`,
 * `actor` to `event`, and an event with an id gets it as its idempotency key (`event:<id>`) unless the
 * detail has one, so a redelivered event edits once. Anything else (another source or detail-type, a
 * detail that is not an object or not JSON, another action) is a BadRequestError: refused, not retried.
 */
export function editRequestPayload(envelope: EventEnvelope): Loose {
  if (envelope.source !== EVENT_SOURCE) {
    throw new BadRequestError(`events must come from source "${EVENT_SOURCE}"`, {
      code: "unsupported_event",
    });
  }
  if (envelope.detailType !== EDIT_REQUESTED) {
    throw new BadRequestError(`only "${EDIT_REQUESTED}" events are taken in`, { code: "unsupported_event" });
  }
  const detail = parsedDetail(envelope.detail);
  const action = detail.action ?? "edit";
  if (typeof action !== "string" || !ACCEPTED_ACTIONS.has(action)) {
    throw new BadRequestError(`an ${EDIT_REQUESTED} event may ask for "edit" or "restore"`, {
      code: "validation_failed",
      details: { fieldErrors: { action: ['must be "edit" (default) or "restore"'] } },
    });
  }
  return {
    ...detail,
    action,
    actor: detail.actor ?? EVENT_ACTOR,
    ...(detail.idempotencyKey === undefined && envelope.id !== undefined
      ? { idempotencyKey: `event:${envelope.id}`.slice(0, 255) }
      : {}),
  };
}

function parsedDetail(detail: unknown): Loose {
  let value = detail;
  if (typeof detail === "string") {
    try {
      value = JSON.parse(detail);
    } catch {
      throw new BadRequestError("the event's detail is not JSON", { code: "validation_failed" });
    }
  }
  if (!isObject(value)) {
    throw new BadRequestError("the event's detail must be a JSON object: the edit payload", {
      code: "validation_failed",
    });
  }
  return value;
}

/** What a log line may say about an event: never its detail (it holds message text). */
export function describeEnvelope(envelope: EventEnvelope): Record<string, unknown> {
  const short = (value: unknown) => (typeof value === "string" ? value.slice(0, 64) : typeof value);
  return {
    source: short(envelope.source),
    detailType: short(envelope.detailType),
    ...(envelope.id !== undefined ? { eventId: envelope.id.slice(0, 64) } : {}),
  };
}
