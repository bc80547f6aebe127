import { identityOf, type MessageHead, type ObservedMessage, type Version } from "./model.ts";
import type { ApplyOutcome } from "./recorder-events.ts";
import type { MessageStore } from "./store.ts";
import { contention, MAX_WRITE_ATTEMPTS, type VersionMeta } from "./versions.ts";

/** Filled in as an event is applied (one per `record` call: the recorder serves concurrent callbacks). */
export interface Trace {
  head?: MessageHead;
  version?: Version;
  /** Several versions written at once (a rewritten before-send's after-send), oldest first. */
  versions?: Version[];
}

/** The head writes every recorder path shares: a new message's head, and the conditional upsert. */
export class HeadWriter {
  constructor(
    private readonly store: MessageStore,
    private readonly now: () => Date,
  ) {}

  /**
   * Optimistic head upsert: start from `known` (or assume the head is absent, the common case for a new
   * message), and only on conflict read it and let `change` decide. `change` returns undefined for
   * "nothing to do".
   */
  async upsertHead(
    message: ObservedMessage,
    change: (head: MessageHead | undefined) => MessageHead | undefined,
    known?: MessageHead,
    trace: Trace = {},
  ): Promise<ApplyOutcome> {
    let head: MessageHead | undefined = known;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 0) head = await this.store.getHead(message.id);
      const next = change(head);
      if (!next) return "duplicate";
      const written: MessageHead = {
        ...next,
        updatedAt: this.now().toISOString(),
        rev: (head?.rev ?? 0) + 1,
      };
      if (await this.store.putHead(written, head?.rev)) {
        trace.head = written;
        // Version 1 lives in the head: written now when the head goes from no version to version 1.
        if (written.version === 1 && (head?.version ?? 0) < 1 && written.first) trace.version = written.first;
        return head ? "updated" : "created";
      }
    }
    throw contention(message.id);
  }

  newHead(message: ObservedMessage, state: MessageHead["state"]): MessageHead {
    const now = this.now().toISOString();
    return {
      ...identityOf(message),
      state,
      version: 0,
      createdAt: message.sentAt,
      updatedAt: now,
      rev: 0,
    };
  }
}

/** A version's metadata from the event that writes it. */
export function versionMeta(
  event: { readonly eventAt?: number; readonly eventKey?: string },
  source: Version["source"],
  actor: string | undefined,
  at: string,
): VersionMeta {
  return {
    source,
    ...(actor !== undefined ? { actor } : {}),
    at,
    ...(event.eventAt !== undefined ? { eventAt: event.eventAt } : {}),
    ...(event.eventKey !== undefined ? { eventKey: event.eventKey } : {}),
  };
}
