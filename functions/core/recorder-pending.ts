import { missingIdentity, stickyState } from "./head-changes.ts";
import {
  type Content,
  contentHash,
  type MessageHead,
  type ObservedMessage,
  type PendingRewrite,
  type RewriteStep,
  type Version,
} from "./model.ts";
import type { ApplyOutcome, RecorderEvent } from "./recorder-events.ts";
import { type HeadWriter, type Trace, versionMeta } from "./recorder-heads.ts";
import type { MessageStore } from "./store.ts";
import { contention, MAX_WRITE_ATTEMPTS, repairHead, type VersionMeta } from "./versions.ts";

/**
 * What an after-send does with its before-send's record: a rewrite the pending record kept becomes
 * history, and a provisional record (a group before-send) points at the real message.
 */
export class PendingSends {
  constructor(
    private readonly store: MessageStore,
    private readonly now: () => Date,
    private readonly heads: HeadWriter,
  ) {}

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
  async applyRewrittenSend(
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
      versionMeta(event, "callback", event.message.sender, event.message.sentAt),
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
      const { rewrite: _kept, ...base } = head ?? this.heads.newHead(event.message, "sent");
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

  /**
   * Points the provisional record (group before-send, keyed by Random) at the real message. When it is
   * absent (no before-send, or the before-send is still in the spool), a redirect is left in its place,
   * so a late before-send or send exception finds it and cannot leave a pending ghost behind.
   */
  async resolveProvisional(provisionalId: string, real: ObservedMessage, known?: MessageHead): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const head = attempt === 0 && known ? known : await this.store.getHead(provisionalId);
      if (head && (head.resolvedId !== undefined || head.state !== "pending")) return;
      const now = this.now().toISOString();
      const resolved: MessageHead = head
        ? { ...head, state: "sent", resolvedId: real.id, updatedAt: now, rev: head.rev + 1 }
        : {
            ...this.heads.newHead({ ...real, id: provisionalId, key: {} }, "sent"),
            resolvedId: real.id,
            rev: 1,
          };
      if (await this.store.putHead(resolved, head?.rev)) return;
    }
  }
}

/** The rewrite a pending record keeps for its after-send to version, if any. */
export function pendingRewrite(
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
