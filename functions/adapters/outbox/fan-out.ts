import { asError } from "../../core/errors.ts";
import { type DomainEvent, EventsNotDelivered, type Outbox } from "../../core/outbox.ts";

export interface NamedSink {
  /** For the failure report: `eventbridge`, `sqs`, `IM_EDIT_EVENTS_URL`, `in-process`. */
  readonly name: string;
  readonly outbox: Outbox;
}

/**
 * Every batch to every sink, in parallel: one sink's failure keeps the batch from no other. When some
 * fail, `publish` rejects with `EventsNotDelivered` naming the sinks and the events they did not get.
 */
export function fanOut(sinks: readonly NamedSink[]): Outbox {
  return {
    publish: async (events) => {
      if (events.length === 0) return;
      const results = await Promise.allSettled(sinks.map((sink) => sink.outbox.publish(events)));
      const lost = new Map<string, DomainEvent>();
      const reasons: string[] = [];
      results.forEach((result, index) => {
        if (result.status === "fulfilled") return;
        const error = asError(result.reason);
        const undelivered = error instanceof EventsNotDelivered ? error.events : events;
        for (const event of undelivered) lost.set(event.eventId, event);
        reasons.push(`${sinks[index]?.name ?? "sink"}: ${error.message}`);
      });
      if (lost.size > 0) throw new EventsNotDelivered(reasons.join("; "), [...lost.values()]);
    },
  };
}
