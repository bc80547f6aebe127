import type {
  EventBridgeClientConfig,
  PutEventsRequestEntry,
  PutEventsResponse,
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

/** One PutEvents request: the entries, in order. */
export type PutEvents = (entries: PutEventsRequestEntry[]) => Promise<PutEventsResponse>;

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
    private readonly putEvents: PutEvents,
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
      const answer = await this.putEvents(batch.map((p) => p.entry));
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

type EventBridgeSdk = typeof import("@aws-sdk/client-eventbridge");

/**
 * The EventBridge SDK, imported on demand: only deployments with a bus (`-c events=eventbridge`) use it,
 * so it stays out of the functions' bundles (45 KB of every cold import) and ships beside them
 * (infra/constructs/bundling.ts `LAZY_PACKAGES`), CommonJS there as installed: its exports are
 * `default`, its `module.exports`, where Node gives them.
 */
async function importSdk(): Promise<EventBridgeSdk> {
  const module = (await import("@aws-sdk/client-eventbridge")) as EventBridgeSdk & {
    readonly default?: EventBridgeSdk;
  };
  return module.default ?? module;
}

/**
 * The bus's outbox with its own client: short timeouts (enforced: smithy only warns about a request
 * timeout unless told to throw) and one SDK retry, since a callback waits for the publish (within the
 * publish budget) before it answers the provider. `client` adds settings (tests: an endpoint and static
 * credentials). The SDK starts loading now, without waiting (the dependencies are made on a cold
 * start's first invocation, so it loads while that one works); a failed load fails that publish
 * (`EventsNotDelivered`) and is tried again by the next.
 */
export function createEventBridgeOutbox(
  region: string,
  busName: string,
  options: EventBridgeOutboxOptions & {
    readonly requestTimeoutMs?: number;
    readonly client?: Omit<EventBridgeClientConfig, "requestHandler">;
  } = {},
): EventBridgeOutbox {
  let client: Promise<PutEvents> | undefined;
  const load = (): Promise<PutEvents> => {
    client ??= importSdk().then(({ EventBridgeClient, PutEventsCommand }) => {
      const sdkClient = new EventBridgeClient({
        region,
        maxAttempts: 2,
        ...options.client,
        requestHandler: {
          connectionTimeout: 200,
          requestTimeout: options.requestTimeoutMs ?? 400,
          throwOnRequestTimeout: true,
        },
      });
      return (entries) => sdkClient.send(new PutEventsCommand({ Entries: entries }));
    });
    client.catch(() => {
      client = undefined;
    });
    return client;
  };
  // Its rejection is handled (and forgotten) by load itself.
  void load();
  return new EventBridgeOutbox(async (entries) => (await load())(entries), busName, {
    ...(options.includeContent !== undefined ? { includeContent: options.includeContent } : {}),
  });
}
