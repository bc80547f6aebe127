import {
  type Content,
  contentHash,
  type MessageHead,
  type ObservedMessage,
  type SendError,
  type Version,
} from "./model.ts";
import type { MessageStore } from "./store.ts";
import { appendVersion, contention, MAX_WRITE_ATTEMPTS } from "./versions.ts";

/**
 * What a provider callback means for the store, independent of the provider's field names.
 * Provider modules produce these; `Recorder.apply` makes them durable, idempotently.
 */
export type RecorderEvent =
  /** Before-send: the message exists but was not delivered yet. */
  | { readonly type: "pending"; readonly message: ObservedMessage; readonly content: Content }
  /** After-send: delivered (or failed to deliver, with `sendError`). Content becomes version 1. */
  | {
      readonly type: "sent";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly sendError?: SendError;
      /** The provisional record (created before the provider assigned the key) this send completes. */
      readonly provisionalId?: string;
    }
  /** The provider could not send a message known only provisionally. */
  | { readonly type: "failed"; readonly message: ObservedMessage; readonly sendError: SendError }
  /**
   * Recalled. With `message`, a recall of a message never seen sent leaves a tombstone (so a late
   * after-send stays recalled); with only the id, a message never recorded cannot be matched.
   */
  | {
      readonly type: "recalled";
      readonly id: string;
      readonly message?: ObservedMessage;
      readonly actor?: string;
      readonly at: string;
    }
  /**
   * After-modify: the message now has this content. Fields the provider did not report keep their
   * previous value (`content` is merged over the newest version).
   */
  | {
      readonly type: "modified";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly actor?: string;
      readonly at: string;
    }
  /**
   * A copy of the message as it is now (Yunxin's 抄送): the first one records it as sent; a later one
   * with other content is an edit (our own, matched by the open intent, or someone else's).
   */
  | {
      readonly type: "observed";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly at: string;
    };

/** The id of the message an event is about. */
export const eventMessageId = (event: RecorderEvent): string =>
  event.type === "recalled" ? event.id : event.message.id;

/** `unmatched`: the event names a message im-edit never recorded and carries too little to record it. */
export type ApplyOutcome = "created" | "updated" | "duplicate" | "unmatched";

/** Hook for the editor's echo rule: lets an edit intent claim an after-modify (or a copy) as its own echo. */
export interface EchoMatcher {
  /** `replace`: the event carries the whole content (a provider copy), not only the changed fields. */
  isOwnEcho(
    event: { readonly content: Content; readonly actor?: string; readonly replace?: boolean },
    head: MessageHead,
  ): Promise<boolean>;
}

export class Recorder {
  constructor(
    private readonly store: MessageStore,
    private readonly now: () => Date = () => new Date(),
    private readonly echo?: EchoMatcher,
  ) {}

  async apply(event: RecorderEvent): Promise<ApplyOutcome> {
    switch (event.type) {
      case "pending":
        return this.upsertHead(event.message, (head) =>
          head ? undefined : { ...this.newHead(event.message, "pending"), content: event.content },
        );
      case "sent":
        return this.applySent(event);
      case "failed":
        return this.upsertHead(event.message, (head) => {
          if (head && head.state !== "pending") return undefined;
          const base = head ?? this.newHead(event.message, "failed");
          return { ...base, state: "failed", sendError: event.sendError };
        });
      case "recalled":
        return this.applyRecalled(event);
      case "modified":
        return this.applyModified(event);
      case "observed": {
        const head = await this.store.getHead(event.message.id);
        if (!head || head.version === 0) {
          return this.applySent({ type: "sent", message: event.message, content: event.content });
        }
        // A copy is the whole message: it replaces the content. One equal to the record changes nothing;
        // one equal to what the provider first copied is a redelivery of that copy, not an edit back.
        const hash = contentHash(event.content);
        if (hash === head.contentHash) return "duplicate";
        const recent = await this.store.recentVersions(head.id, 10);
        const first = recent.findIndex(
          (version) => version.source === "callback" && version.contentHash === hash,
        );
        // A redelivery only if no one edited since (a user may well edit back to the original).
        if (first >= 0 && recent.slice(0, first).every((version) => version.source !== "client")) {
          return "duplicate";
        }
        return this.applyModified(
          { type: "modified", message: event.message, content: event.content, at: event.at },
          true,
        );
      }
    }
  }

  private async applyRecalled(event: Extract<RecorderEvent, { type: "recalled" }>): Promise<ApplyOutcome> {
    const change = (head: MessageHead | undefined): MessageHead | undefined => {
      if (head?.state === "recalled" || head?.state === "failed") return undefined;
      if (head) return { ...head, state: "recalled" };
      return event.message ? { ...this.newHead(event.message, "recalled"), state: "recalled" } : undefined;
    };
    if (event.message) return this.upsertHead(event.message, change);
    // Only the id is known: no tombstone can be built, so the message must exist.
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const head = await this.store.getHead(event.id);
      const next = change(head);
      if (!head || !next) return "unmatched";
      if (
        await this.store.putHead(
          { ...next, updatedAt: this.now().toISOString(), rev: head.rev + 1 },
          head.rev,
        )
      ) {
        return "updated";
      }
    }
    throw contention(event.id);
  }

  private async applySent(event: Extract<RecorderEvent, { type: "sent" }>): Promise<ApplyOutcome> {
    const version = this.version(1, event.content, "callback", event.message.sender, event.message.sentAt);
    // The version item is the serialization point; a duplicate delivery finds it and only repairs the head.
    const versionCreated = await this.store.putVersion(event.message.id, version);
    const outcome = await this.upsertHead(event.message, (head) => {
      const state = stickyState(head?.state, event.sendError ? "failed" : "sent");
      const base = head ?? this.newHead(event.message, state);
      const advances = base.version < 1;
      if (head && !advances && head.state === state) return undefined;
      return {
        ...base,
        ...fillMissingIdentity(base, event.message),
        state,
        ...(event.sendError ? { sendError: event.sendError } : {}),
        ...(advances ? { version: 1, content: event.content, contentHash: version.contentHash } : {}),
      };
    });
    if (event.provisionalId) await this.resolveProvisional(event.provisionalId, event.message);
    return versionCreated ? (outcome === "duplicate" ? "updated" : outcome) : outcome;
  }

  private async applyModified(
    event: Extract<RecorderEvent, { type: "modified" }>,
    replace = false,
  ): Promise<ApplyOutcome> {
    const id = event.message.id;
    const head = await this.store.getHead(id);
    // Fields an after-modify left out keep their value: the modify APIs overwrite only what is sent.
    const content = replace ? event.content : { ...(head?.content ?? {}), ...event.content };
    if (head && head.contentHash === contentHash(content)) return "duplicate";
    if (head && this.echo && (await this.echo.isOwnEcho({ ...event, replace }, head))) return "duplicate";
    const appended = await appendVersion(
      this.store,
      id,
      content,
      { source: "client", ...(event.actor !== undefined ? { actor: event.actor } : {}), at: event.at },
      { now: this.now, skipIfSame: true, newHead: () => this.newHead(event.message, "sent") },
    );
    if (appended === "duplicate") return "duplicate";
    return head ? "updated" : "created";
  }

  /**
   * Points the provisional record (group before-send, keyed by Random) at the real message. When it is
   * absent (no before-send, or the before-send is still in the spool), a redirect is left in its place,
   * so a late before-send or send exception finds it and cannot leave a pending ghost behind.
   */
  private async resolveProvisional(provisionalId: string, real: ObservedMessage): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const head = await this.store.getHead(provisionalId);
      if (head && (head.resolvedId !== undefined || head.state !== "pending")) return;
      const now = this.now().toISOString();
      const resolved: MessageHead = head
        ? { ...head, state: "sent", resolvedId: real.id, updatedAt: now, rev: head.rev + 1 }
        : {
            ...this.newHead({ ...real, id: provisionalId, key: {} }, "sent"),
            resolvedId: real.id,
            rev: 1,
          };
      if (await this.store.putHead(resolved, head?.rev)) return;
    }
  }

  /**
   * Optimistic head upsert: assume the head is absent (the common case for a new message), and only
   * on conflict read it and let `change` decide. `change` returns undefined for "nothing to do".
   */
  private async upsertHead(
    message: ObservedMessage,
    change: (head: MessageHead | undefined) => MessageHead | undefined,
  ): Promise<ApplyOutcome> {
    let head: MessageHead | undefined;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 0) head = await this.store.getHead(message.id);
      const next = change(head);
      if (!next) return "duplicate";
      const written: MessageHead = {
        ...next,
        updatedAt: this.now().toISOString(),
        rev: (head?.rev ?? 0) + 1,
      };
      if (await this.store.putHead(written, head?.rev)) return head ? "updated" : "created";
    }
    throw contention(message.id);
  }

  private newHead(message: ObservedMessage, state: MessageHead["state"]): MessageHead {
    const now = this.now().toISOString();
    return {
      id: message.id,
      provider: message.provider,
      appId: message.appId,
      kind: message.kind,
      key: message.key,
      conversation: message.conversation,
      ...(message.sender !== undefined ? { sender: message.sender } : {}),
      ...(message.operator !== undefined ? { operator: message.operator } : {}),
      ...(message.notEditable !== undefined ? { notEditable: message.notEditable } : {}),
      ...(message.lookupKey !== undefined ? { lookupKey: message.lookupKey } : {}),
      state,
      version: 0,
      createdAt: message.sentAt,
      updatedAt: now,
      rev: 0,
    };
  }

  private version(
    number: number,
    content: Content,
    source: Version["source"],
    actor: string | undefined,
    at: string,
  ): Version {
    return {
      version: number,
      content,
      contentHash: contentHash(content),
      source,
      ...(actor !== undefined ? { actor } : {}),
      at,
    };
  }
}

/** `recalled` and `failed` never go back; everything else moves forward to `next`. */
function stickyState(
  current: MessageHead["state"] | undefined,
  next: MessageHead["state"],
): MessageHead["state"] {
  return current === "recalled" || current === "failed" ? current : next;
}

/** A tombstone (recall seen before send) lacks the send's details; the send fills them in. */
function fillMissingIdentity(head: MessageHead, message: ObservedMessage): Partial<MessageHead> {
  return {
    key: { ...message.key, ...head.key },
    ...(head.lookupKey === undefined && message.lookupKey !== undefined
      ? { lookupKey: message.lookupKey }
      : {}),
    ...(head.sender === undefined && message.sender !== undefined ? { sender: message.sender } : {}),
    ...(head.version === 0 ? { createdAt: message.sentAt } : {}),
  };
}
