import { missingIdentity, stickyState } from "./head-changes.ts";
import {
  type Content,
  contentHash,
  identityOf,
  type MessageHead,
  type ObservedMessage,
  type PendingRewrite,
  type RewriteStep,
  type Version,
} from "./model.ts";
import {
  type Applied,
  type ApplyOutcome,
  type EchoMatcher,
  eventMessageId,
  type RecorderEvent,
} from "./recorder-events.ts";
import type { MessageStore } from "./store.ts";

import {
  appendVersion,
  contention,
  MAX_WRITE_ATTEMPTS,
  RECENT_DEPTH,
  repairHead,
  type VersionMeta,
} from "./versions.ts";

// The event vocabulary lives in recorder-events.ts; importers of the recorder find it here too.
export type { Applied, ApplyOutcome, EchoMatcher, RecorderEvent } from "./recorder-events.ts";
export { eventMessageId } from "./recorder-events.ts";

/** Filled in as an event is applied (one per `record` call: the recorder serves concurrent callbacks). */
interface Trace {
  head?: MessageHead;
  version?: Version;
  /** Several versions written at once (a rewritten before-send's after-send), oldest first. */
  versions?: Version[];
}

export class Recorder {
  constructor(
    private readonly store: MessageStore,
    private readonly now: () => Date = () => new Date(),
    private readonly echo?: EchoMatcher,
  ) {}

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
        return this.upsertHead(
          event.message,
          (head) =>
            head
              ? undefined
              : {
                  ...this.newHead(event.message, event.refused ? "failed" : "pending"),
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
        return this.upsertHead(
          event.message,
          (head) => {
            if (head && head.state !== "pending") return undefined;
            const base = head ?? this.newHead(event.message, "failed");
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
      const outcome = await this.applyRewrittenSend(event, provisional, rewritten, undefined, trace);
      if (outcome !== undefined) {
        await this.resolveProvisional(provisional.id, event.message, provisional);
        return outcome;
      }
    }
    const fresh = known ? undefined : this.sentHead(event);
    const existing = known ?? (fresh ? await this.store.createHead(fresh) : undefined);
    if (!existing) {
      if (event.provisionalId) await this.resolveProvisional(event.provisionalId, event.message, provisional);
      return fresh ? created(trace, fresh) : "created";
    }
    // A C2C before-send's rewrite is on the record itself, still pending.
    const ownRewrite = event.sendError || firstCopy ? undefined : pendingRewrite(existing);
    if (ownRewrite) {
      const outcome = await this.applyRewrittenSend(event, existing, ownRewrite, existing, trace);
      if (outcome !== undefined) return outcome;
      return this.applySent(event, { firstCopy, existing: await this.mustGet(existing.id) }, trace);
    }
    const id = event.message.id;
    const meta = this.meta(event, "callback", event.message.sender, event.message.sentAt);
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
    const outcome = await this.upsertHead(
      event.message,
      (current) => {
        const state = stickyState(current?.state, event.sendError ? "failed" : "sent");
        const base = current ?? this.newHead(event.message, state);
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
    if (event.provisionalId) await this.resolveProvisional(event.provisionalId, event.message, provisional);
    return appended ? (outcome === "duplicate" ? "updated" : outcome) : outcome;
  }

  /**
   * The after-send of a before-send that *decide* rewrote: the sender's original becomes version 1
   * (`callback`, in the head), each rewrite step the next version (`auto` + `ruleId` for a rule), and the
   * after-send's content one more (`callback`) when the provider delivered something else again; the
   * head shows what was delivered. The version items go first, each put only if its number is free
   * (a concurrent or repeated delivery writes the same ones, which are then found, not doubled), and the
   * head last, conditionally: a crash in between leaves the record pending, and the provider's next
   * delivery finds the items and finishes. Undefined when the message already has history of its own
   * (an after-modify got there first): the caller records the send the ordinary way.
   */
  private async applyRewrittenSend(
    event: Extract<RecorderEvent, { type: "sent" }>,
    pending: MessageHead,
    rewrite: PendingRewrite & { readonly steps: readonly RewriteStep[] },
    known: MessageHead | undefined,
    trace: Trace,
  ): Promise<ApplyOutcome | undefined> {
    const id = event.message.id;
    let head = known ?? (await this.store.getHead(id));
    if (head && head.version > 0) return undefined;
    const versions = rewriteHistory(
      pending.content ?? {},
      rewrite.steps,
      event,
      this.meta(event, "callback", event.message.sender, event.message.sentAt),
    );
    const [first] = versions;
    const newest = versions.at(-1);
    if (!first || !newest) return undefined;
    for (const version of versions.slice(1)) {
      if (await this.store.putVersion(id, version)) continue;
      const there = await this.store.getVersion(id, version.version);
      if (there && sameVersion(there, version)) continue;
      // Someone else's version holds the number: the message has a history of its own now.
      await repairHead(this.store, id, this.now);
      return undefined;
    }
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 0) head = await this.store.getHead(id);
      if (head && head.version > 0) {
        // A twin delivery wrote the same head: a duplicate. Anything else got in between: bring the head
        // up to the versions (provider order decides what it shows).
        if (head.version >= newest.version && head.first && sameVersion(head.first, first))
          return "duplicate";
        await repairHead(this.store, id, this.now);
        return "updated";
      }
      const { rewrite: _kept, ...base } = head ?? this.newHead(event.message, "sent");
      const next: MessageHead = {
        ...base,
        ...(head ? missingIdentity(head, event.message) : {}),
        state: stickyState(head?.state, "sent"),
        version: newest.version,
        content: event.content,
        contentHash: newest.contentHash,
        ...(event.eventAt !== undefined ? { eventAt: event.eventAt } : {}),
        first,
        updatedAt: this.now().toISOString(),
        rev: (head?.rev ?? 0) + 1,
      };
      const written = head
        ? await this.store.putHead(next, head.rev)
        : (await this.store.createHead(next)) === undefined;
      if (written) {
        trace.head = next;
        trace.version = newest;
        trace.versions = versions;
        return head ? "updated" : "created";
      }
    }
    throw contention(id);
  }

  private async mustGet(id: string): Promise<MessageHead> {
    const head = await this.store.getHead(id);
    if (!head) throw contention(id);
    return head;
  }

  /** A new record of a sent message: its content is version 1, in the head. */
  private sentHead(event: Extract<RecorderEvent, { type: "sent" }>): MessageHead {
    const meta = this.meta(event, "callback", event.message.sender, event.message.sentAt);
    const hash = contentHash(event.content);
    return {
      ...this.newHead(event.message, event.sendError ? "failed" : "sent"),
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
      this.meta(event, "client", event.actor, event.at),
      {
        now: this.now,
        skipIfSame: true,
        newHead: () => this.newHead(event.message, "sent"),
        ...(head ? { head } : {}),
      },
    );
    if (appended === "duplicate") return "duplicate";
    trace.head = appended.head;
    trace.version = appended.version;
    return head ? "updated" : "created";
  }

  /**
   * Points the provisional record (group before-send, keyed by Random) at the real message. When it is
   * absent (no before-send, or the before-send is still in the spool), a redirect is left in its place,
   * so a late before-send or send exception finds it and cannot leave a pending ghost behind.
   */
  private async resolveProvisional(
    provisionalId: string,
    real: ObservedMessage,
    known?: MessageHead,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const head = attempt === 0 && known ? known : await this.store.getHead(provisionalId);
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
   * Optimistic head upsert: start from `known` (or assume the head is absent, the common case for a new
   * message), and only on conflict read it and let `change` decide. `change` returns undefined for
   * "nothing to do".
   */
  private async upsertHead(
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

  private newHead(message: ObservedMessage, state: MessageHead["state"]): MessageHead {
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

  private meta(
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

/** The rewrite a pending record keeps for its after-send to version, if any. */
function pendingRewrite(
  head: MessageHead | undefined,
): (PendingRewrite & { readonly steps: readonly RewriteStep[] }) | undefined {
  const rewrite = head?.rewrite;
  if (head?.state !== "pending" || head.version !== 0 || head.resolvedId !== undefined) return undefined;
  if (!rewrite?.steps || rewrite.steps.length === 0) return undefined;
  return { ...rewrite, steps: rewrite.steps };
}

/**
 * The versions a rewritten send becomes: the sender's original (version 1, with the after-send's provider
 * time and identity), one per step, and the after-send's content when it differs from the last step's.
 */
function rewriteHistory(
  original: Content,
  steps: readonly RewriteStep[],
  event: Extract<RecorderEvent, { type: "sent" }>,
  meta: VersionMeta,
): Version[] {
  const { eventKey: _key, ...sendMeta } = meta;
  const versions: Version[] = [
    { ...meta, version: 1, content: original, contentHash: contentHash(original) },
  ];
  for (const step of steps) {
    versions.push({
      ...sendMeta,
      // The app's own rewrite through the relay (issue 16) is `app`; a rule's is `auto`.
      source: step.source,
      actor: step.ruleId !== undefined ? `rule:${step.ruleId}` : step.by,
      ...(step.ruleId !== undefined ? { ruleId: step.ruleId } : {}),
      version: versions.length + 1,
      content: step.content,
      contentHash: contentHash(step.content),
    });
  }
  const delivered = contentHash(event.content);
  if (versions.at(-1)?.contentHash !== delivered) {
    versions.push({
      ...sendMeta,
      version: versions.length + 1,
      content: event.content,
      contentHash: delivered,
    });
  }
  return versions;
}

/** The same version as one a twin delivery would write (times aside: they come from the same event). */
const sameVersion = (a: Version, b: Version): boolean =>
  a.version === b.version &&
  a.contentHash === b.contentHash &&
  a.source === b.source &&
  a.ruleId === b.ruleId;
