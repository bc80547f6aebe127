import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { asError } from "../../core/errors.ts";
import {
  type DomainEvent,
  EVENT_SOURCE,
  EventsNotDelivered,
  forDelivery,
  type Outbox,
  withoutContent,
} from "../../core/outbox.ts";
import { batches } from "./batches.ts";

/** PutEvents takes at most 10 entries and 256 KB per request (entries sized as AWS documents it). */
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;

export interface EventBridgeOutboxOptions {
  /** EVENTS_INCLUDE_CONTENT: version events carry their version's content (else ids only). */
  readonly includeContent?: boolean;
}

interface Pending {
  readonly event: DomainEvent;
  readonly entry: PutEventsRequestEntry;
}

/**
 * The outbox in AWS with EVENT_BUS_NAME (`-c events=eventbridge`): one entry per domain event,
 * `Source: "im-edit"`, `DetailType` the event type, `Detail` the event as JSON. Entries go in requests of
 * at most 10 entries and 256 KB, sent in parallel. Entries EventBridge did not take (`FailedEntryCount`)
 * are sent once more; what still fails, or a request that failed whole, rejects the publish with
 * `EventsNotDelivered` naming only those events (reported as `PublishFailed`, at most once).
 */
export class EventBridgeOutbox implements Outbox {
  private readonly includeContent: boolean;

  constructor(
    private readonly client: Pick<EventBridgeClient, "send">,
    private readonly busName: string,
    options: EventBridgeOutboxOptions = {},
  ) {
    this.includeContent = options.includeContent ?? false;
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pending = events.map((event) => this.pending(event));
    const results = await Promise.all(
      batches(pending, { maxCount: MAX_ENTRIES, maxBytes: MAX_BYTES }, (p) => entrySize(p.entry)).map(
        (batch) => this.sendWithRetry(batch),
      ),
    );
    const failed = results.flatMap((result) => result.failed);
    if (failed.length === 0) return;
    const reasons = [...new Set(results.flatMap((result) => result.reasons))].join(", ");
    throw new EventsNotDelivered(
      `EventBridge did not take ${failed.length} of ${events.length} events (${reasons})`,
      failed.map((p) => p.event),
    );
  }

  /** The entry for an event; content that would not fit a request is left out and the event says so. */
  private pending(event: DomainEvent): Pending {
    const delivered = forDelivery(event, this.includeContent);
    const entry = this.entry(delivered);
    if (entrySize(entry) <= MAX_BYTES) return { event, entry };
    return { event, entry: this.entry(withoutContent(delivered)) };
  }

  private entry(event: DomainEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify(event),
    };
  }

  /** One request, then once more for the entries it did not take. */
  private async sendWithRetry(batch: readonly Pending[]): Promise<{ failed: Pending[]; reasons: string[] }> {
    const first = await this.send(batch);
    if (first.failed.length === 0) return first;
    return this.send(first.failed);
  }

  private async send(batch: readonly Pending[]): Promise<{ failed: Pending[]; reasons: string[] }> {
    try {
      const answer = await this.client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
      if (!answer.FailedEntryCount) return { failed: [], reasons: [] };
      const results = answer.Entries ?? [];
      const failed: Pending[] = [];
      const reasons = new Set<string>();
      batch.forEach((p, index) => {
        const result = results[index];
        // Entries answer in request order; one without an EventId was not put.
        if (result?.EventId !== undefined && result.ErrorCode === undefined) return;
        failed.push(p);
        reasons.add(result?.ErrorCode ?? "no result");
      });
      return { failed, reasons: [...reasons] };
    } catch (thrown: unknown) {
      const error = asError(thrown);
      return { failed: [...batch], reasons: [error.name] };
    }
  }
}

/** An entry's size as EventBridge counts it against the 256 KB limit. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? "");
  size += Buffer.byteLength(entry.DetailType ?? "");
  size += Buffer.byteLength(entry.Detail ?? "");
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource);
  return size;
}

/**
 * The bus's outbox with its own client: short timeouts (enforced: smithy only warns about a request
 * timeout unless told to throw) and one SDK retry, since a callback waits for the publish (within the
 * publish budget) before it answers the provider. `client` adds settings (tests: an endpoint and static
 * credentials).
 */
export function createEventBridgeOutbox(
  region: string,
  busName: string,
  options: EventBridgeOutboxOptions & {
    readonly requestTimeoutMs?: number;
    readonly client?: Omit<EventBridgeClientConfig, "requestHandler">;
  } = {},
): EventBridgeOutbox {
  const client = new EventBridgeClient({
    region,
    maxAttempts: 2,
    ...options.client,
    requestHandler: {
      connectionTimeout: 200,
      requestTimeout: options.requestTimeoutMs ?? 400,
      throwOnRequestTimeout: true,
    },
  });
  return new EventBridgeOutbox(client, busName, {
    ...(options.includeContent !== undefined ? { includeContent: options.includeContent } : {}),
  });
}
