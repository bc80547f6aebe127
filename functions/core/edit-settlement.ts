import { BadRequestError, NotFoundError } from "./errors.ts";
import type { Idempotency } from "./idempotency.ts";
import type { Clock, RateLimiter } from "./limiter.ts";
import {
  type Content,
  canonicalJson,
  contentHash,
  type EditIntent,
  type MessageHead,
  messageOf,
  type ProviderName,
  type Version,
} from "./model.ts";
import { type Outbox, publishQuietly, versionEvent } from "./outbox.ts";
import type { ProviderEditor } from "./provider.ts";
import type { EchoMatcher } from "./recorder-events.ts";
import type { Store } from "./store.ts";
import { appendVersion } from "./versions.ts";

export interface EditResult {
  readonly head: MessageHead;
  /** The version this edit created; absent when the content was already what was asked for. */
  readonly version?: Version;
}

export interface EditServiceOptions {
  /** How long a caller waits for a busy message (lease) and for provider retries. */
  readonly waitBudgetMs: number;
  /** How long an edit may hold a message; a crashed editor's lease expires after it. */
  readonly leaseMs: number;
  /** Time to resolve an edit whose outcome is unknown (echo or read-back). */
  readonly resolveWindowMs: number;
  /** How long an Idempotency-Key is remembered. */
  readonly idempotencyTtlMs: number;
  /** How long an applied intent stays to recognize a late echo of our own edit. */
  readonly echoGraceMs: number;
  readonly clock?: Clock;
  /** The *publish* stage: MessageEdited for each committed edit, EditFailed for a refused one (never fails it). */
  readonly outbox?: Outbox;
  /** Admission before any work: an edit whose provider slot is not expected inside the wait budget gets 429 at once. */
  readonly limiter?: RateLimiter;
  /** Asks for `resolve(id)` to run again after a delay (a timer locally, a delayed queue message in AWS). */
  readonly scheduleResolve?: (id: string, delayMs: number) => Promise<void> | void;
}

export const DEFAULT_EDIT_OPTIONS: EditServiceOptions = {
  waitBudgetMs: 5_000,
  leaseMs: 30_000,
  resolveWindowMs: 10_000,
  idempotencyTtlMs: 24 * 3600 * 1000,
  echoGraceMs: 120_000,
};

/** `abandoned`: still unknown long past its deadline; dropped so that the next edit can proceed. */
export type ResolveOutcome = "applied" | "not-applied" | "abandoned" | "unknown" | "none";

/** Versions im-edit itself wrote: their late echoes are not someone else's edits. */
const OWN_SOURCES: ReadonlySet<string> = new Set(["api", "auto", "restore"]);

/**
 * How an edit ends: committed on the provider's OK, or settled later by its echo or a read-back when the
 * provider's answer did not say. No edit is reported applied unless the provider said OK, its echo
 * matched, or a read-back shows it.
 */
export class EditSettlement {
  constructor(
    private readonly store: Store,
    private readonly editors: ReadonlyMap<ProviderName, ProviderEditor>,
    private readonly options: EditServiceOptions,
    private readonly clock: Clock,
    private readonly idempotency: Idempotency<EditResult>,
  ) {}

  /**
   * Settles an edit whose outcome was unknown: the echo (already matched) or a read-back decides. Called
   * by the scheduler, and (with `currentOwner`, the caller's lease) before any new edit of the message.
   */
  async resolve(id: string, currentOwner?: string): Promise<ResolveOutcome> {
    const head = await this.store.getHead(id);
    const intent = head?.intent;
    if (!head || !intent || intent.state === "applied") return "none";
    const now = this.clock.now();
    if (intent.state === "open" && intent.deadline > now && currentOwner === undefined) {
      return "none"; // still in flight with its own editor: not ours to settle
    }
    if (intent.confirmedAt !== undefined) return this.settleApplied(head, intent, currentOwner);
    const verdict = await this.readBackVerdict(head, intent);
    if (verdict === "applied") return this.settleApplied(head, intent, currentOwner);
    if (verdict === "not-applied") return this.drop(id, intent, currentOwner, "not-applied");
    if (now < intent.deadline) {
      await this.options.scheduleResolve?.(id, 1_000);
      return "unknown";
    }
    // Nothing could tell, long after the fact: let the next edit supersede it rather than block forever.
    if (now > intent.deadline + this.options.echoGraceMs)
      return this.drop(id, intent, currentOwner, "abandoned");
    return "unknown";
  }

  /** What the provider shows now, judged against the intent; a failed or inconclusive read-back is "unknown". */
  async readBackVerdict(
    head: MessageHead,
    intent: EditIntent,
  ): Promise<"applied" | "not-applied" | "unknown"> {
    let readBack: Content | null | undefined;
    try {
      readBack = await this.editor(head.provider).readBack(
        head,
        this.clock.now() + Math.min(this.options.waitBudgetMs, 3_000),
      );
    } catch {
      readBack = undefined;
    }
    // null: the provider says the message is gone, so the edit cannot have landed.
    return readBack === null ? "not-applied" : readBack === undefined ? "unknown" : judge(readBack, intent);
  }

  /** The recorder's hook: an after-modify matching our open (or just applied) intent is our own echo. */
  echoMatcher(operatorOf: (provider: ProviderName) => string | undefined): EchoMatcher {
    return {
      isOwnEcho: async (event, head) => {
        const operator = operatorOf(head.provider);
        if (operator !== undefined && event.actor !== operator) return false;
        const now = this.clock.now();
        // The intent travels in the head the recorder just read: no read of its own.
        const intent = head.intent;
        if (intent && fieldsEqual(event.content, intent.content)) return this.claimEcho(head, intent, now);
        // A late echo of an earlier edit of ours (A→B→C, B's echo after C's): not someone else's edit,
        // provided only our own versions came after it.
        const hash = contentHash(
          event.replace ? event.content : { ...(head.content ?? {}), ...event.content },
        );
        const recent = await this.store.recentVersions(head.id, 10);
        const match = recent.findIndex((version) => version.contentHash === hash);
        return (
          match >= 0 &&
          recent.slice(0, match + 1).every((version) => OWN_SOURCES.has(version.source)) &&
          Date.parse(recent[match]?.at ?? "") > now - this.options.echoGraceMs
        );
      },
    };
  }

  /** The echo matches the intent: it proves the edit applied. Re-reads on any race, so evidence is never lost. */
  private async claimEcho(head: MessageHead, intent: EditIntent, now: number): Promise<boolean> {
    // Applied and recorded: an event that still differs from the record came after someone else's
    // version (the same content set again, e.g. from the console). Late echoes are matched by version.
    if (intent.state === "applied") return false;
    if (intent.state === "unknown" || intent.deadline <= now) {
      // Unanswered, or its editor is gone: the echo settles it.
      return (await this.settleApplied(head, intent)) === "applied";
    }
    const marked = await this.store.updateIntent(
      head.id,
      intent.intentId,
      { confirmedAt: new Date(now).toISOString() },
      "open",
    );
    if (marked) return true;
    const latest = await this.store.getHead(head.id);
    if (!latest?.intent || latest.intent.intentId !== intent.intentId) return false; // dropped: a version
    return this.claimEcho(latest, latest.intent, now);
  }

  /**
   * Writes the version of an applied intent. On the happy path (`owner` still holds the lease, the head
   * still at the intent's base) that is two writes: the version item, then the head with the intent marked
   * applied and the lease released (`released`). Otherwise the general append, then the intent's mark.
   */
  async commit(
    id: string,
    intent: EditIntent,
    providerRequestId?: string,
    head?: MessageHead,
    owner?: string,
  ): Promise<EditResult & { released?: true }> {
    const now = this.clock.now();
    const meta = {
      source: intent.source,
      actor: intent.actor,
      at: new Date(now).toISOString(),
      ...(intent.idempotencyKey !== undefined ? { idempotencyKey: intent.idempotencyKey } : {}),
      ...(intent.ruleId !== undefined ? { ruleId: intent.ruleId } : {}),
      ...(intent.jobId !== undefined ? { jobId: intent.jobId } : {}),
      ...(providerRequestId !== undefined ? { providerRequestId } : {}),
      intentId: intent.intentId,
      // Provider order: our edit stands where the provider applied it, about now, and never behind the
      // head's provider time (clock skew), so a repair cannot take it for an older event.
      eventAt: Math.max(now, head?.eventAt ?? 0),
    };
    if (head && owner !== undefined && head.version === intent.baseVersion) {
      const version: Version = {
        ...meta,
        version: head.version + 1,
        content: intent.content,
        contentHash: intent.contentHash,
      };
      if (await this.store.putVersion(id, version)) {
        const committed = await this.store.commitEdit(id, {
          owner,
          version,
          eventAt: Math.max(now, head.eventAt ?? 0),
          echoUntil: now + this.options.echoGraceMs,
          updatedAt: meta.at,
        });
        if (committed) return this.published({ head: committed, version, released: true });
      }
    }
    const appended = await appendVersion(
      this.store,
      id,
      // Someone else's version landed during the call: our fields go over it, theirs stay.
      (current) =>
        current && current.version !== intent.baseVersion
          ? { ...(current.content ?? {}), ...intent.changed }
          : intent.content,
      meta,
      { now: () => new Date(this.clock.now()), current: true, ...(head ? { head } : {}) },
    );
    if (appended === "duplicate") throw new Error("unreachable: edits always append");
    await this.store.updateIntent(id, intent.intentId, {
      state: "applied",
      deadline: this.clock.now() + this.options.echoGraceMs,
    });
    return this.published(appended);
  }

  /** MessageEdited for the version an edit committed: here, the one place every applied edit passes. */
  private async published<T extends EditResult>(result: T): Promise<T> {
    if (result.version)
      await publishQuietly(this.options.outbox, [versionEvent(result.head, result.version)]);
    return result;
  }

  /** Claims the intent (unknown or open → applied) so that the echo and a read-back cannot both commit. */
  async settleApplied(head: MessageHead, intent: EditIntent, currentOwner?: string): Promise<ResolveOutcome> {
    const from = intent.state === "open" ? "open" : "unknown";
    const claimed = await this.store.updateIntent(head.id, intent.intentId, { state: "applied" }, from);
    if (!claimed) {
      // Settled by someone else, or dropped as not applied meanwhile.
      return (await this.intentState(head.id, intent)) === "applied" ? "applied" : "not-applied";
    }
    try {
      const result = await this.commit(head.id, { ...intent, state: "applied" });
      await this.idempotency.settle(intent, resultOf(result));
    } catch (error: unknown) {
      // Not recorded: give the claim back so that the next resolution (or echo) tries again.
      await this.store.updateIntent(head.id, intent.intentId, { state: from }, "applied").catch(() => false);
      throw error;
    }
    if (currentOwner === undefined) await this.store.releaseLease(head.id, intent.leaseOwner);
    return "applied";
  }

  /** Forgets an intent that did not (or cannot be shown to) apply; if it was applied meanwhile, says so. */
  async drop(
    id: string,
    intent: EditIntent,
    currentOwner: string | undefined,
    outcome: "not-applied" | "abandoned",
  ): Promise<ResolveOutcome> {
    if (!(await this.store.deleteIntent(id, intent.intentId))) {
      return (await this.intentState(id, intent)) === "applied" ? "applied" : outcome;
    }
    await this.idempotency.settle(intent);
    if (currentOwner === undefined) await this.store.releaseLease(id, intent.leaseOwner);
    return outcome;
  }

  /** The state of this intent now; undefined when another one replaced it or it is gone. */
  async intentState(id: string, intent: EditIntent): Promise<EditIntent["state"] | undefined> {
    const latest = (await this.store.getHead(id))?.intent;
    return latest?.intentId === intent.intentId ? latest.state : undefined;
  }

  /** The message after an edit that was applied (settled by its echo or a read-back). */
  async appliedResult(id: string, intent: EditIntent): Promise<EditResult> {
    const head = await this.store.getHead(id);
    if (!head) throw new NotFoundError(`no message ${id}`);
    // Claimed applied by the echo or a read-back whose commit may still be under way: commit it here
    // too (the version number is taken once; a second commit of the same intent finds its version).
    if (head.version === intent.baseVersion) return this.commit(id, { ...intent, state: "applied" });
    const version = await this.store.getVersion(id, head.version);
    return { head, ...(version && version.contentHash === intent.contentHash ? { version } : {}) };
  }

  editor(provider: ProviderName): ProviderEditor {
    const editor = this.editors.get(provider);
    if (!editor) {
      throw new BadRequestError(`editing ${provider} messages is not configured`, {
        code: "provider_not_configured",
      });
    }
    return editor;
  }
}

/** What an edit answers: the message without the store's own fields, and the version it made. */
export function resultOf(result: EditResult): EditResult {
  return { head: messageOf(result.head), ...(result.version ? { version: result.version } : {}) };
}

/** True when every field present in `partial` equals the same field of `full`. */
function fieldsEqual(partial: Content, full: Content): boolean {
  return Object.entries(partial).every(
    ([field, value]) => canonicalJson(value) === canonicalJson(full[field]),
  );
}

/** Read-back verdict: the fields both sides have decide; equal to both (or neither) cannot decide. */
function judge(readBack: Content, intent: EditIntent): "applied" | "not-applied" | "unknown" {
  const shared = (content: Content) =>
    Object.fromEntries(
      Object.keys(readBack)
        .filter((field) => field in content)
        .map((field) => [field, content[field]]),
    );
  const matchesEdit = fieldsEqual(shared(intent.content), readBack);
  const matchesBase = fieldsEqual(shared(intent.baseContent), readBack);
  if (matchesEdit && !matchesBase) return "applied";
  if (matchesBase && !matchesEdit) return "not-applied";
  return "unknown";
}
