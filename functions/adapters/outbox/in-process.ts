import { asError } from "../../core/errors.ts";
import { type DomainEvent, forDelivery, type Outbox } from "../../core/outbox.ts";

export type Subscriber = (events: readonly DomainEvent[]) => void | Promise<void>;

/**
 * The outbox in one process (`npm start`, tests): every subscriber gets every batch, in publish order,
 * before `publish` resolves. A subscriber that throws does not keep the batch from the others; `publish`
 * then rejects with what failed (the wiring reports it as `PublishFailed`). Subscribers see the events as
 * any sink delivers them: with content only when the deployment opted in (`includeContent`).
 */
export class InProcessOutbox implements Outbox {
  private readonly subscribers = new Set<Subscriber>();
  private readonly includeContent: boolean;

  constructor(subscribers: readonly Subscriber[] = [], options: { readonly includeContent?: boolean } = {}) {
    for (const subscriber of subscribers) this.subscribers.add(subscriber);
    this.includeContent = options.includeContent ?? false;
  }

  /** Adds a subscriber; the function returned removes it. */
  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const delivered = events.map((event) => forDelivery(event, this.includeContent));
    const failures: Error[] = [];
    for (const subscriber of [...this.subscribers]) {
      try {
        await subscriber(delivered);
      } catch (thrown: unknown) {
        failures.push(asError(thrown));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} subscribers failed`);
  }
}
