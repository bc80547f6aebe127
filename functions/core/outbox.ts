import { AppError, asError } from "./errors.ts";
import type {
  Content,
  EditIntent,
  MessageHead,
  MessageState,
  ProviderName,
  Version,
  VersionSource,
} from "./model.ts";

/**
 * The *publish* stage's port: domain events about messages, for consumers inside and outside im-edit
 * (after-send rules, the callback relay, bulk jobs, an app's own analytics). Delivered events carry ids,
 * never content: a consumer reads the message (`GET /v1/messages/{id}`), so a purge or retention removes
 * content for good and a queue never holds a copy. A deployment may opt in (EVENTS_INCLUDE_CONTENT):
 * version events carry their version's content on the way to the sinks, and every sink (in-process
 * subscribers included) delivers them through `forDelivery`, which keeps it only then.
 *
 * Delivery is at most once today: publishing happens after the record is durable and before the
 * callback is answered, and a failed publish is logged and counted (`PublishFailed`), never retried and
 * never a reason to fail the callback or the edit. The relay issue adds a durable forward queue (the
 * events written beside the record and forwarded from there) for at-least-once delivery; `eventId` is
 * already deterministic so consumers can deduplicate then.
 */
export interface Outbox {
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** The `source` of every event im-edit puts on a bus, and of the EditRequested events it takes. */
export const EVENT_SOURCE = "im-edit";

interface EventBase {
  /** `<type>/<message id>/<version>` (EditFailed: `/<intent id>`): the same fact, the same id. */
  readonly eventId: string;
  /** The message id. */
  readonly id: string;
  readonly provider: ProviderName;
  readonly appId: string;
  readonly version: number;
  /** When the fact happened (the version's time; for records created without a version, when recorded). */
  readonly at: string;
  readonly actor?: string;
  readonly ruleId?: string;
  readonly jobId?: string;
}

/** A record was created, or a record created before delivery (pending, a tombstone) got its version 1. */
export interface MessageRecorded extends EventBase {
  readonly type: "MessageRecorded";
  readonly state: MessageState;
  /** The version-1 source (`callback`, `client`); absent while the record has no version (pending). */
  readonly source?: VersionSource;
  /** The version's content: on the way to the sinks always; delivered only with EVENTS_INCLUDE_CONTENT. */
  readonly content?: Content;
  /** Set on a delivered event whose content was asked for but left out (it would not fit the sink). */
  readonly contentOmitted?: "too_large";
}

/** A new version (2 or later): by a provider callback (`callback`/`client`) or by im-edit's own edit. */
export interface MessageEdited extends EventBase {
  readonly type: "MessageEdited";
  readonly source: VersionSource;
  /** Kept in history only: it arrived after a newer provider event, so the record's content is not it. */
  readonly stale?: true;
  /** As on MessageRecorded. */
  readonly content?: Content;
  readonly contentOmitted?: "too_large";
}

/** An edit that reached the provider and did not apply (refused, or settled as not applied). */
export interface EditFailed extends EventBase {
  readonly type: "EditFailed";
  readonly source: VersionSource;
  /** Domain code (`not_applied`, the refusal's code). */
  readonly reason: string;
  readonly providerCode?: number | string;
}

export type DomainEvent = MessageRecorded | MessageEdited | EditFailed;

/**
 * An event as a sink delivers it: without content unless the deployment opted in
 * (EVENTS_INCLUDE_CONTENT). Every sink (EventBridge, SQS, IM_EDIT_EVENTS_URL, in-process subscribers)
 * delivers this, never the event itself.
 */
export function forDelivery(event: DomainEvent, includeContent: boolean): DomainEvent {
  if (event.type === "EditFailed" || !("content" in event) || (includeContent && event.content !== undefined))
    return event;
  const { content: _, ...rest } = event;
  return rest;
}

/** The same event without its content, marked: for a sink whose size limit the content would break. */
export function withoutContent(event: DomainEvent): DomainEvent {
  if (event.type === "EditFailed" || event.content === undefined) return event;
  const { content: _, ...rest } = event;
  return { ...rest, contentOmitted: "too_large" };
}

/**
 * A sink that delivered part of a batch: the events it did not deliver, so the failure report (logged
 * and counted as `PublishFailed`) names only those.
 */
export class EventsNotDelivered extends Error {
  override readonly name = "EventsNotDelivered";
  constructor(
    message: string,
    readonly events: readonly DomainEvent[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Events off: the default deployment (every message would cost an extra queue request). */
export const NO_OUTBOX: Outbox = { publish: async () => {} };

/** Publishes, and swallows a failure after reporting it: publishing never fails the caller's work. */
export async function publishQuietly(
  outbox: Outbox | undefined,
  events: readonly DomainEvent[],
  onFailure?: (error: Error, events: readonly DomainEvent[]) => void,
): Promise<void> {
  if (!outbox || events.length === 0) return;
  try {
    await outbox.publish(events);
  } catch (thrown: unknown) {
    onFailure?.(asError(thrown), events);
  }
}

/**
 * An outbox whose `publish` never throws: failures go to `onFailure` (the wiring logs and counts them).
 * With `budgetMs`, a publish that takes longer is reported and no longer waited for.
 */
export function guardedOutbox(
  inner: Outbox,
  onFailure: (error: Error, events: readonly DomainEvent[]) => void,
  budgetMs?: number,
): Outbox {
  return {
    publish: async (events) => {
      if (events.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const publishing = inner.publish(events);
      try {
        if (budgetMs === undefined) await publishing;
        else
          await Promise.race([
            publishing,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`publish did not finish within ${budgetMs} ms`)),
                budgetMs,
              );
            }),
          ]);
      } catch (thrown: unknown) {
        publishing.catch(() => {});
        const error = asError(thrown);
        onFailure(error, error instanceof EventsNotDelivered ? error.events : events);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const base = (
  type: DomainEvent["type"],
  head: Pick<MessageHead, "id" | "provider" | "appId">,
  version: number,
) => ({
  eventId: `${type}/${head.id}/${version}`,
  id: head.id,
  provider: head.provider,
  appId: head.appId,
  version,
});

const attribution = (version: Pick<Version, "actor" | "ruleId" | "jobId">) => ({
  ...(version.actor !== undefined ? { actor: version.actor } : {}),
  ...(version.ruleId !== undefined ? { ruleId: version.ruleId } : {}),
  ...(version.jobId !== undefined ? { jobId: version.jobId } : {}),
});

/** A purged version keeps no content: its event has none either. */
const contentOf = (version: Partial<Pick<Version, "content" | "purged">>) =>
  version.content !== undefined && version.purged === undefined ? { content: version.content } : {};

/**
 * A version written: version 1 is the message recorded, any later one an edit. The version's content
 * rides along in process; `forDelivery` drops it unless the deployment opted in.
 */
export function versionEvent(
  head: Pick<MessageHead, "id" | "provider" | "appId" | "state">,
  version: Pick<Version, "version" | "source" | "actor" | "at" | "ruleId" | "jobId" | "stale"> &
    Partial<Pick<Version, "content" | "purged">>,
): MessageRecorded | MessageEdited {
  if (version.version <= 1) {
    return {
      type: "MessageRecorded",
      ...base("MessageRecorded", head, version.version),
      at: version.at,
      state: head.state,
      source: version.source,
      ...attribution(version),
      ...contentOf(version),
    };
  }
  return {
    type: "MessageEdited",
    ...base("MessageEdited", head, version.version),
    at: version.at,
    source: version.source,
    ...attribution(version),
    ...(version.stale ? { stale: true as const } : {}),
    ...contentOf(version),
  };
}

/** A record created without a version (pending, a tombstone of a recall never seen sent). */
export function recordedEvent(
  head: Pick<MessageHead, "id" | "provider" | "appId" | "state" | "version" | "updatedAt">,
): MessageRecorded {
  return {
    type: "MessageRecorded",
    ...base("MessageRecorded", head, head.version),
    at: head.updatedAt,
    state: head.state,
  };
}

/** An edit of ours that did not apply. */
export function editFailedEvent(
  head: Pick<MessageHead, "id" | "provider" | "appId">,
  intent: Pick<EditIntent, "intentId" | "baseVersion" | "source" | "actor" | "ruleId" | "jobId">,
  at: string,
  failure: unknown,
): EditFailed {
  const error = failure instanceof AppError ? failure : undefined;
  return {
    type: "EditFailed",
    ...base("EditFailed", head, intent.baseVersion),
    eventId: `EditFailed/${head.id}/${intent.baseVersion}/${intent.intentId}`,
    at,
    source: intent.source,
    ...attribution(intent),
    reason: typeof failure === "string" ? failure : (error?.code ?? "failed"),
    ...(error?.providerCode !== undefined ? { providerCode: error.providerCode } : {}),
  };
}
