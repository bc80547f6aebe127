import { missingIdentity, stickyState } from "./head-changes.ts";
import { type Content, contentHash, type MessageHead, type Version } from "./model.ts";
import {
  type Applied,
  type ApplyOutcome,
  type EchoMatcher,
  eventMessageId,
  type RecorderEvent,
} from "./recorder-events.ts";
import { HeadWriter, type Trace, versionMeta } from "./recorder-heads.ts";
import { PendingSends, pendingRewrite } from "./recorder-pending.ts";
import type { MessageStore } from "./store.ts";
import { appendVersion, contention, MAX_WRITE_ATTEMPTS, RECENT_DEPTH } from "./versions.ts";

export class Recorder {
  private readonly heads: HeadWriter;
  private readonly pending: PendingSends;

  constructor(
    private readonly store: MessageStore,
    private readonly now: () => Date = () => new Date(),
    private readonly echo?: EchoMatcher,
  ) {
    this.heads = new HeadWriter(store, now);
    this.pending = new PendingSends(store, now, this.heads);
  }

  async apply(event: RecorderEvent): Promise<ApplyOutcome> {
    return (await this.record(event)).outcome;
  }

  /** Applies the event, and tells what it wrote (the head, the version) for the events to publish. */
  async record(event: RecorderEvent): Promise<Applied> {
    const trace: Trace = {};
    const outcome = await this.applyTraced(event, trace);
    const written = outcome === "created" || outcome === "updated";
    const version = written ? trace.version : undefined;
    const versions = written ? trace.versions : undefined;
    return {
      outcome,
      id: eventMessageId(event),
      ...(written && trace.head ? { head: trace.head } : {}),
      ...(version ? { version: withoutContent(version) } : {}),
      ...(versions ? { versions: versions.map(withoutContent) } : {}),
    };
  }

  private async applyTraced(event: RecorderEvent, trace: Trace): Promise<ApplyOutcome> {
    switch (event.type) {
      case "pending":
        return this.heads.upsertHead(
          event.message,
          (head) =>
            head
              ? undefined
              : {
                  ...this.heads.newHead(event.message, event.refused ? "failed" : "pending"),
                  content: event.content,
                  ...(event.refused ? { sendError: event.refused } : {}),
                  ...(event.rewrite ? { rewrite: event.rewrite } : {}),
                },
          undefined,
          trace,
        );
      case "sent":
        return this.applySent(event, {}, trace);
      case "failed":
        return this.heads.upsertHead(
          event.message,
          (head) => {
            if (head && head.state !== "pending") return undefined;
            const base = head ?? this.heads.newHead(event.message, "failed");
            return { ...base, state: "failed", sendError: event.sendError };
          },
          undefined,
          trace,
        );
      case "recalled":
        return this.applyRecalled(event);
      case "modified":
        return this.applyModified(event, {}, trace);
      case "observed": {
        // A copy is the whole message: the first one records it as sent, a later one replaces the content.
        const sent = { ...event, type: "sent" as const };
        const fresh = this.sentHead(sent);
        const existing = await this.store.createHead(fresh);
        if (!existing) return created(trace, fresh);
        if (existing.version === 0) return this.applySent(sent, { firstCopy: true, existing }, trace);
        return this.applyModified({ ...event, type: "modified" }, { replace: true, head: existing }, trace);
      }
    }
  }

  private async applyRecalled(event: Extract<RecorderEvent, { type: "recalled" }>): Promise<ApplyOutcome> {
    const change = (head: MessageHead | undefined): MessageHead | undefined => {
      if (head?.state === "recalled" || head?.state === "failed") return undefined;
      if (head) return { ...head, state: "recalled" };
      return event.message
        ? { ...this.heads.newHead(event.message, "recalled"), state: "recalled" }
        : undefined;
    };
    if (event.message) return this.heads.upsertHead(event.message, change);
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

  /**
   * One write on the happy path: the head is created with its content as version 1. When the message is
   * known already, the send completes what it lacks (a tombstone, a pending record, a record an
   * after-modify created), or is a redelivery (a duplicate), or is history in provider order (usually a
   * stale version, when a newer event arrived first).
   */
  private async applySent(
    event: Extract<RecorderEvent, { type: "sent" }>,
    { firstCopy = false, existing: known }: { firstCopy?: boolean; existing?: MessageHead } = {},
    trace: Trace = {},
  ): Promise<ApplyOutcome> {
    // A group send completes a provisional record (its before-send): read first, for a rewrite it kept.
    const provisional =
      event.provisionalId !== undefined && !known ? await this.store.getHead(event.provisionalId) : undefined;
    const rewritten = event.sendError ? undefined : pendingRewrite(provisional);
    if (provisional && rewritten) {
      const outcome = await this.pending.applyRewrittenSend(event, provisional, rewritten, undefined, trace);
      if (outcome !== undefined) {
        await this.pending.resolveProvisional(provisional.id, event.message, provisional);
        return outcome;
      }
    }
    const fresh = known ? undefined : this.sentHead(event);
    const existing = known ?? (fresh ? await this.store.createHead(fresh) : undefined);
    if (!existing) {
      if (event.provisionalId)
        await this.pending.resolveProvisional(event.provisionalId, event.message, provisional);
      return fresh ? created(trace, fresh) : "created";
    }
    // A C2C before-send's rewrite is on the record itself, still pending.
    const ownRewrite = event.sendError || firstCopy ? undefined : pendingRewrite(existing);
    if (ownRewrite) {
      const outcome = await this.pending.applyRewrittenSend(event, existing, ownRewrite, existing, trace);
      if (outcome !== undefined) return outcome;
      return this.applySent(event, { firstCopy, existing: await this.mustGet(existing.id) }, trace);
    }
    const id = event.message.id;
    const meta = versionMeta(event, "callback", event.message.sender, event.message.sentAt);
    let appended = false;
    let head: MessageHead | undefined = existing;
    if (existing.version >= 1 && !(await this.sendRecorded(existing, event, firstCopy))) {
      const result = await appendVersion(this.store, id, event.content, meta, {
        now: this.now,
        skipIfSame: true,
        head: existing,
        dedupedThrough: existing.version,
      });
      appended = result !== "duplicate";
      if (result !== "duplicate") {
        trace.version = result.version;
        trace.head = result.head;
        head = await this.store.getHead(id);
      }
    }
    const hash = contentHash(event.content);
    const outcome = await this.heads.upsertHead(
      event.message,
      (current) => {
        const state = stickyState(current?.state, event.sendError ? "failed" : "sent");
        const base = current ?? this.heads.newHead(event.message, state);
        const advances = base.version < 1;
        const identity = missingIdentity(base, event.message);
        if (current && !advances && current.state === state && Object.keys(identity).length === 0)
          return undefined;
        return {
          ...base,
          ...identity,
          state,
          ...(event.sendError ? { sendError: event.sendError } : {}),
          ...(advances
            ? {
                version: 1,
                content: event.content,
                contentHash: hash,
                ...(event.eventAt !== undefined ? { eventAt: event.eventAt } : {}),
                first: { ...meta, version: 1, content: event.content, contentHash: hash },
              }
            : {}),
        };
      },
      head,
      trace,
    );
    if (event.provisionalId)
      await this.pending.resolveProvisional(event.provisionalId, event.message, provisional);
    return appended ? (outcome === "duplicate" ? "updated" : outcome) : outcome;
  }

  private async mustGet(id: string): Promise<MessageHead> {
    const head = await this.store.getHead(id);
    if (!head) throw contention(id);
    return head;
  }

  /** A new record of a sent message: its content is version 1, in the head. */
  private sentHead(event: Extract<RecorderEvent, { type: "sent" }>): MessageHead {
    const meta = versionMeta(event, "callback", event.message.sender, event.message.sentAt);
    const hash = contentHash(event.content);
    return {
      ...this.heads.newHead(event.message, event.sendError ? "failed" : "sent"),
      ...(event.sendError ? { sendError: event.sendError } : {}),
      version: 1,
      content: event.content,
      contentHash: hash,
      ...(event.eventAt !== undefined ? { eventAt: event.eventAt } : {}),
      first: { ...meta, version: 1, content: event.content, contentHash: hash },
      rev: 1,
    };
  }

  /**
   * Whether this send is in the history already. A message is sent once: a send version found is this
   * one. A copy is recognised by its bytes. Version 1 is in the head; older ones need a read (rare).
   */
  private async sendRecorded(
    head: MessageHead,
    event: Extract<RecorderEvent, { type: "sent" }>,
    firstCopy: boolean,
  ): Promise<boolean> {
    const isThis = (version: Version | undefined) =>
      version !== undefined &&
      ((event.eventKey !== undefined && version.eventKey === event.eventKey) ||
        (!firstCopy && version.source === "callback"));
    if (isThis(head.first)) return true;
    if (head.version <= 1) return false;
    return (await this.store.recentVersions(head.id, RECENT_DEPTH)).some(isThis);
  }

  /**
   * After-modify (or a later copy): a new version in provider order. Equal to the record, a redelivery of
   * an event already recorded, or the echo of our own edit: a duplicate.
   */
  private async applyModified(
    event: Extract<RecorderEvent, { type: "modified" }>,
    { replace = false, head: known }: { replace?: boolean; head?: MessageHead } = {},
    trace: Trace = {},
  ): Promise<ApplyOutcome> {
    const id = event.message.id;
    const head = known ?? (await this.store.getHead(id));
    // Fields an after-modify left out keep their value: the modify APIs overwrite only what is sent.
    const contentOn = (current: MessageHead | undefined): Content =>
      replace ? event.content : { ...(current?.content ?? {}), ...event.content };
    const same = head !== undefined && head.contentHash === contentHash(contentOn(head));
    // Our own edit's echo is recognised by the intent in the head; a redelivery by its event key (while
    // appending: version 1 is in the head, older events cost one read).
    if (head && !same && this.echo && (await this.echo.isOwnEcho({ ...event, replace }, head))) {
      return "duplicate";
    }
    const appended = await appendVersion(
      this.store,
      id,
      contentOn,
      versionMeta(event, "client", event.actor, event.at),
      {
        now: this.now,
        skipIfSame: true,
        newHead: () => this.heads.newHead(event.message, "sent"),
        ...(head ? { head } : {}),
      },
    );
    if (appended === "duplicate") return "duplicate";
    trace.head = appended.head;
    trace.version = appended.version;
    return head ? "updated" : "created";
  }
}

/** A head created whole (version 1 with it when it has one). */
function created(trace: Trace, head: MessageHead): "created" {
  trace.head = head;
  if (head.first) trace.version = head.first;
  return "created";
}

function withoutContent(version: Version): Omit<Version, "content" | "contentHash"> {
  const { content: _content, contentHash: _hash, ...meta } = version;
  return meta;
}
