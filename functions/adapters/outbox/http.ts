import { asError } from "../../core/errors.ts";
import {
  type DomainEvent,
  EVENT_SOURCE,
  EventsNotDelivered,
  forDelivery,
  type Outbox,
} from "../../core/outbox.ts";

/** What a developer's endpoint receives for each event: the shape an EventBridge rule target gets. */
export interface EventEnvelope {
  readonly version: "0";
  /** The event's deterministic id (`<type>/<message id>/<version>`): the same fact, the same id. */
  readonly id: string;
  readonly source: typeof EVENT_SOURCE;
  readonly "detail-type": DomainEvent["type"];
  /** When it was published. */
  readonly time: string;
  readonly region: "local";
  readonly resources: readonly string[];
  readonly detail: DomainEvent;
}

export interface EventsUrlOptions {
  /** EVENTS_INCLUDE_CONTENT: version events carry their version's content (else ids only). */
  readonly includeContent?: boolean;
  /** How long a POST may take before the batch is reported as not delivered. */
  readonly timeoutMs?: number;
  /** Where `-` prints (default: stdout). */
  readonly write?: (line: string) => void;
  readonly now?: () => Date;
}

/** A developer's endpoint answers on loopback; longer would hold the callback answer back. */
const DEFAULT_TIMEOUT_MS = 500;

/**
 * IM_EDIT_EVENTS_URL, locally: where a developer sees the outgoing events. `-` prints one JSON line per
 * event; an http(s) URL gets each batch POSTed as a JSON array of envelopes. A failed or slow POST
 * rejects with `EventsNotDelivered` (logged as `PublishFailed` by the wiring, never fatal).
 */
export function eventsUrlOutbox(target: string, options: EventsUrlOptions = {}): Outbox {
  const includeContent = options.includeContent ?? false;
  const now = options.now ?? (() => new Date());
  const envelope = (event: DomainEvent, time: string): EventEnvelope => ({
    version: "0",
    id: event.eventId,
    source: EVENT_SOURCE,
    "detail-type": event.type,
    time,
    region: "local",
    resources: [],
    detail: forDelivery(event, includeContent),
  });
  if (target === "-") {
    const write = options.write ?? ((line: string) => process.stdout.write(line));
    return {
      publish: async (events) => {
        const time = now().toISOString();
        for (const event of events) write(`${JSON.stringify(envelope(event, time))}\n`);
      },
    };
  }
  const url = new URL(target);
  const shown = describeEventsUrl(target);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    publish: async (events) => {
      if (events.length === 0) return;
      const time = now().toISOString();
      try {
        // undici loads on the first POST (as in providers/http-call.ts): a static import would sit at the
        // top of every function's bundle, and a deployed bundle carries undici only beside a lazy import.
        const { request } = (await import("undici")).default;
        const response = await request(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(events.map((event) => envelope(event, time))),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body.dump();
        if (response.statusCode >= 300) throw new Error(`answered ${response.statusCode}`);
      } catch (thrown: unknown) {
        const error = asError(thrown);
        throw new EventsNotDelivered(`POST ${shown} failed: ${error.name}: ${error.message}`, events, {
          cause: error,
        });
      }
    },
  };
}

/** The URL for people: no user info, query or fragment (they can carry a token). */
export function describeEventsUrl(target: string): string {
  if (target === "-") return "stdout";
  try {
    const url = new URL(target);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}
