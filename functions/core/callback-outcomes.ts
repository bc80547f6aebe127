// What a callback's stages make of their results: the domain events of what was recorded, a before-send's
// event with its decision, the message a forward names, the message newly sent (for after-send rules).
import type { Decided } from "./decide.ts";
import type { DurableOutcome } from "./durable.ts";
import type { ProviderName } from "./model.ts";
import { type DomainEvent, recordedEvent, versionEvent } from "./outbox.ts";
import { type Applied, eventMessageId, type RecorderEvent } from "./recorder-events.ts";
import type { RecordedSend } from "./rules/auto-edits.ts";

/**
 * What was recorded, as domain events: a record created (MessageRecorded), version 1 arriving at a record
 * created before delivery (MessageRecorded), a later version (MessageEdited). Duplicates, unmatched events
 * and state changes without a version (a recall, a send failure) publish nothing.
 */
export function domainEvents(
  provider: ProviderName,
  appId: string,
  applied: readonly Applied[],
): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const result of applied) {
    if (result.outcome !== "created" && result.outcome !== "updated") continue;
    const head = { id: result.id, provider, appId, state: result.head?.state ?? "sent" } as const;
    // A rewritten before-send's after-send writes several versions at once: one event each.
    if (result.versions) for (const version of result.versions) events.push(versionEvent(head, version));
    else if (result.version) events.push(versionEvent(head, result.version));
    else if (result.outcome === "created" && result.head)
      events.push(recordedEvent({ ...result.head, id: result.id, provider, appId }));
  }
  return events;
}

export function withDecision(
  pending: Extract<RecorderEvent, { type: "pending" }>,
  decided: Decided,
): RecorderEvent {
  const { decision, by } = decided;
  switch (decision.action) {
    case "allow":
      return pending;
    case "block":
      return {
        ...pending,
        refused: { code: decision.code ?? 1, info: `${decision.info} (by ${by.join("+")})` },
      };
    case "drop":
      return { ...pending, refused: { code: 2, info: `dropped silently (by ${by.join("+")})` } };
    case "rewrite":
      return {
        ...pending,
        rewrite: {
          content: decided.delivered ?? { ...pending.content, ...decision.content },
          by,
          ...(decision.ruleId !== undefined ? { ruleId: decision.ruleId } : {}),
          ...(decided.steps !== undefined ? { steps: decided.steps } : {}),
        },
      };
  }
}

/**
 * The message a callback recorded (or spooled, to be recorded), for the forward's `X-Im-Edit-Message-Id`:
 * its first event's, unless that event matched nothing.
 */
export function recordedId(events: readonly RecorderEvent[], recorded: DurableOutcome): string | undefined {
  const [first] = events;
  if (!first) return undefined;
  if ("stored" in recorded && (recorded.stored[0] ?? "unmatched") === "unmatched") return undefined;
  return eventMessageId(first);
}

export const describe = ({ decision, by }: Decided): string =>
  by.length > 0 ? `${decision.action}:${by.join("+")}` : decision.action;

/**
 * The message an event just recorded as sent by the provider, with its content: version 1 written from an
 * after-send or a first copy, and the message sent (not recalled or failed meanwhile). Not a rewritten
 * before-send's after-send (it wrote several versions; its rules ran before delivery), not an edit.
 */
export function newlySent(event: RecorderEvent, applied: Applied | undefined): RecordedSend | undefined {
  if (event.type !== "sent" && event.type !== "observed") return undefined;
  if (!applied || (applied.outcome !== "created" && applied.outcome !== "updated")) return undefined;
  // Version 1 just written from the provider's callback; a before-send rewrite's versions follow it in the
  // same write, and the after-send rules then see what was delivered (the event's content).
  const first = applied.versions?.[0] ?? applied.version;
  if (first?.version !== 1 || first.source !== "callback" || applied.head?.state !== "sent") return undefined;
  const { message } = event;
  return {
    id: message.id,
    provider: message.provider,
    appId: message.appId,
    kind: message.kind,
    conversation: message.conversation,
    ...(message.sender !== undefined ? { sender: message.sender } : {}),
    content: event.content,
  };
}
