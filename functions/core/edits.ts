import { randomUUID } from "node:crypto";
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  OutcomeUnknownError,
  PreconditionFailedError,
  ProviderUnavailableError,
  UnprocessableError,
} from "./errors.ts";
import { type Clock, systemClock } from "./limiter.ts";
import {
  type Content,
  canonicalJson,
  contentHash,
  isEditable,
  type MessageHead,
  type ProviderName,
  type Version,
} from "./model.ts";
import type { EditPlan, ProviderEditor } from "./provider.ts";
import type { MessageQueries } from "./queries.ts";
import type { EchoMatcher } from "./recorder.ts";
import type { EditIntent, MessageStore } from "./store.ts";
import { appendVersion } from "./versions.ts";

export interface EditOptions {
  /** `If-Match`: the version the caller saw; a newer one gives 412 before any provider call. */
  readonly ifMatch?: number;
  readonly idempotencyKey?: string;
  readonly actor: string;
  readonly source?: "api" | "auto";
  readonly ruleId?: string;
}

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
 * The edit protocol (ARCHITECTURE.md "Storage rules"), one message at a time:
 * lease → intent → provider call → version → release. The intent lets the recorder recognize the
 * provider's echo of our own edit (even before the provider's HTTP answer) and lets an unanswered call
 * be resolved later by the echo or a read-back. No edit is reported applied unless the provider said
 * OK, its echo matched, or a read-back shows it.
 */
export class EditService {
  private readonly clock: Clock;

  constructor(
    private readonly store: MessageStore,
    private readonly editors: ReadonlyMap<ProviderName, ProviderEditor>,
    private readonly queries: MessageQueries,
    private readonly options: EditServiceOptions = DEFAULT_EDIT_OPTIONS,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async edit(id: string, body: unknown, options: EditOptions): Promise<EditResult> {
    return this.idempotent(
      options.idempotencyKey,
      { op: "edit", id, body, ifMatch: options.ifMatch },
      async (idempotencyHash) => {
        const head = await this.queries.get(id);
        const editor = this.editor(head.provider);
        const change = editor.parseChange(body);
        return this.run(head, options, "api", (current) => editor.plan(current, change), idempotencyHash);
      },
    );
  }

  async restore(id: string, versionNumber: number, options: EditOptions): Promise<EditResult> {
    return this.idempotent(
      options.idempotencyKey,
      { op: "restore", id, versionNumber, ifMatch: options.ifMatch },
      async (idempotencyHash) => {
        const head = await this.queries.get(id);
        const target = await this.store.getVersion(head.id, versionNumber);
        if (!target) throw new NotFoundError(`message ${head.id} has no version ${versionNumber}`);
        if (target.purged)
          throw new UnprocessableError(`version ${versionNumber} was purged`, { code: "not_restorable" });
        const editor = this.editor(head.provider);
        return this.run(
          head,
          options,
          "restore",
          (current) => editor.planRestore(current, target.content),
          idempotencyHash,
        );
      },
    );
  }

  /**
   * Removes the content of every version but the newest (what users see now), keeping each one's hash,
   * actor and time, and who purged it, when and why.
   */
  async purge(id: string, reason: string, actor: string): Promise<{ head: MessageHead; purged: number }> {
    const head = await this.queries.get(id);
    const owner = randomUUID();
    await this.acquireLease(head.id, owner);
    try {
      let purged = 0;
      let nextToken: string | undefined;
      const redactKeys: string[] = [];
      const at = new Date(this.clock.now()).toISOString();
      do {
        const page = await this.store.listVersions(head.id, {
          limit: 100,
          ...(nextToken ? { nextToken } : {}),
        });
        for (const version of page.items) {
          if (version.purged || version.version >= head.version) continue;
          const { content: _, ...kept } = version;
          await this.store.replaceVersion(head.id, {
            ...kept,
            content: {},
            purged: { at, by: actor, reason },
          });
          if (version.idempotencyKey !== undefined) redactKeys.push(version.idempotencyKey);
          purged++;
        }
        nextToken = page.nextToken;
      } while (nextToken);
      // A replay of those edits' Idempotency-Keys must neither show the purged content nor run them
      // again: the key stays used, its remembered result becomes the message as it is now.
      for (const key of redactKeys) {
        await this.store.replaceIdempotencyResponse(key, {
          status: 200,
          body: { head } satisfies EditResult,
        });
      }
      // A settled intent keeps the content before and after its edit until its TTL: it goes with the purge.
      const intent = await this.store.getIntent(head.id);
      if (intent?.state === "applied")
        await this.store.deleteIntent(head.id, intent.intentId, { evenIfApplied: true });
      return { head, purged };
    } finally {
      await this.store.releaseLease(head.id, owner);
    }
  }

  /**
   * Settles an edit whose outcome was unknown: the echo (already matched) or a read-back decides. Called
   * by the scheduler, and (with `currentOwner`, the caller's lease) before any new edit of the message.
   */
  async resolve(id: string, currentOwner?: string): Promise<ResolveOutcome> {
    const intent = await this.store.getIntent(id);
    if (!intent || intent.state === "applied") return "none";
    const head = await this.store.getHead(id);
    if (!head) return "none";
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
  private async readBackVerdict(
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
        const intent = await this.store.getIntent(head.id);
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
    const latest = await this.store.getIntent(head.id);
    if (latest?.intentId !== intent.intentId) return false; // dropped meanwhile: record the echo as a version
    return this.claimEcho(head, latest, now);
  }

  private async run(
    requested: MessageHead,
    options: EditOptions,
    source: "api" | "restore",
    plan: (head: MessageHead) => EditPlan,
    idempotencyHash?: string,
  ): Promise<EditResult> {
    let found = requested;
    const editor = this.editor(found.provider);
    const started = this.clock.now();
    found = await this.reinstateIfPresent(found, editor, started + this.options.waitBudgetMs);
    this.checkEditable(found, editor, options.ifMatch);
    plan(found); // refuse bad content before waiting for the message
    const owner = randomUUID();
    await this.acquireLease(found.id, owner);
    let keepLease = false;
    try {
      if ((await this.resolve(found.id, owner)) === "unknown") {
        throw new ConflictError(
          "the previous edit of this message has an unknown outcome; try again shortly",
          {
            code: "previous_edit_unknown",
            retryAfter: 2,
          },
        );
      }
      const head = await this.store.getHead(found.id);
      if (!head) throw new NotFoundError(`no message ${found.id}`);
      this.checkEditable(head, editor, options.ifMatch);
      const planned = plan(head);
      if (contentHash(planned.content) === head.contentHash) return { head };

      const now = this.clock.now();
      const intent: EditIntent = {
        intentId: randomUUID(),
        leaseOwner: owner,
        baseVersion: head.version,
        baseContent: head.content ?? {},
        content: planned.content,
        changed: Object.fromEntries(
          Object.entries(planned.content).filter(([field]) => field in planned.send),
        ),
        contentHash: contentHash(planned.content),
        source: source === "restore" ? "restore" : (options.source ?? "api"),
        actor: options.actor,
        ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
        ...(idempotencyHash !== undefined ? { idempotencyHash } : {}),
        ...(options.ruleId !== undefined ? { ruleId: options.ruleId } : {}),
        state: "open",
        createdAt: new Date(now).toISOString(),
        deadline: now + this.options.leaseMs,
      };
      await this.store.putIntent(head.id, intent);
      let providerRequestId: string | undefined;
      try {
        ({ providerRequestId } = await editor.modify(
          head,
          planned.send,
          started + this.options.waitBudgetMs,
        ));
      } catch (error: unknown) {
        if (error instanceof OutcomeUnknownError) {
          const settled = await this.settleUnanswered(head, intent, owner);
          if (settled) return settled;
          keepLease = true;
          throw new OutcomeUnknownError(
            `the edit of ${head.id} was sent but not answered; it is being resolved`,
            {
              details: { outcome: "unknown", id: head.id, status: `/v1/messages/${head.id}` },
            },
          );
        }
        // An explicit refusal with a matching echo: the echo may be forged or replayed (Tencent's Sign
        // covers no body), so only a read-back showing the edit can turn the refusal into "applied".
        const latest = await this.store.getIntent(head.id);
        if (
          latest?.intentId === intent.intentId &&
          latest.confirmedAt !== undefined &&
          (await this.readBackVerdict(head, latest)) === "applied"
        ) {
          await this.settleApplied(head, latest, owner);
          return this.appliedResult(head.id, intent);
        }
        await this.store.deleteIntent(head.id, intent.intentId);
        throw error;
      }
      try {
        return await this.commit(head.id, intent, providerRequestId, head);
      } catch (error: unknown) {
        // Applied at the provider but not recorded (store trouble): keep the intent, a read-back records it.
        keepLease = true;
        // The provider said OK: confirmed, so resolution records it and never abandons it.
        await this.store
          .updateIntent(head.id, intent.intentId, {
            state: "unknown",
            confirmedAt: new Date(this.clock.now()).toISOString(),
            deadline: this.clock.now() + this.options.resolveWindowMs,
          })
          .catch(() => {});
        await this.options.scheduleResolve?.(head.id, 1_000);
        throw new OutcomeUnknownError(
          `the edit of ${head.id} was applied but could not be recorded yet; it is being resolved`,
          {
            details: { outcome: "unknown", id: head.id, status: `/v1/messages/${head.id}` },
            cause: error,
          },
        );
      }
    } finally {
      if (!keepLease) await this.store.releaseLease(found.id, owner);
    }
  }

  /**
   * The modify was sent but not answered: the echo or a read-back decides at once; when neither can,
   * the message stays locked to this edit (undefined is returned) until a scheduled read-back settles it.
   */
  private async settleUnanswered(
    head: MessageHead,
    intent: EditIntent,
    owner: string,
  ): Promise<EditResult | undefined> {
    const resolveBy = this.clock.now() + this.options.resolveWindowMs;
    await this.store.updateIntent(
      head.id,
      intent.intentId,
      { state: "unknown", deadline: resolveBy },
      "open",
    );
    const outcome = await this.resolve(head.id, owner);
    const applied = async () => (await this.store.getIntent(head.id))?.state === "applied";
    // "none": the echo settled it between the two calls above.
    if (outcome === "applied" || (outcome === "none" && (await applied())))
      return this.appliedResult(head.id, intent);
    if (outcome === "not-applied" || outcome === "abandoned") {
      throw new ProviderUnavailableError("the provider did not answer and did not apply the edit", {
        retryAfter: 1,
      });
    }
    if (!(await this.store.extendLease(head.id, owner, resolveBy)) && (await applied())) {
      return this.appliedResult(head.id, intent);
    }
    return undefined;
  }

  /** Writes the version of an applied intent and marks the intent applied (kept a while for late echoes). */
  private async commit(
    id: string,
    intent: EditIntent,
    providerRequestId?: string,
    head?: MessageHead,
  ): Promise<EditResult> {
    const appended = await appendVersion(
      this.store,
      id,
      // Someone else's version landed during the call: our fields go over it, theirs stay.
      (current) =>
        current && current.version !== intent.baseVersion
          ? { ...(current.content ?? {}), ...intent.changed }
          : intent.content,
      {
        source: intent.source,
        actor: intent.actor,
        at: new Date(this.clock.now()).toISOString(),
        ...(intent.idempotencyKey !== undefined ? { idempotencyKey: intent.idempotencyKey } : {}),
        ...(intent.ruleId !== undefined ? { ruleId: intent.ruleId } : {}),
        ...(providerRequestId !== undefined ? { providerRequestId } : {}),
        intentId: intent.intentId,
        // Provider order: our edit stands where the provider applied it, about now.
        eventAt: this.clock.now(),
      },
      { now: () => new Date(this.clock.now()), current: true, ...(head ? { head } : {}) },
    );
    if (appended === "duplicate") throw new Error("unreachable: edits always append");
    await this.store.updateIntent(id, intent.intentId, {
      state: "applied",
      deadline: this.clock.now() + this.options.echoGraceMs,
    });
    return appended;
  }

  /** Claims the intent (unknown or open → applied) so that the echo and a read-back cannot both commit. */
  private async settleApplied(
    head: MessageHead,
    intent: EditIntent,
    currentOwner?: string,
  ): Promise<ResolveOutcome> {
    const from = intent.state === "open" ? "open" : "unknown";
    const claimed = await this.store.updateIntent(head.id, intent.intentId, { state: "applied" }, from);
    if (!claimed) {
      // Settled by someone else, or dropped as not applied meanwhile.
      return (await this.store.getIntent(head.id))?.state === "applied" ? "applied" : "not-applied";
    }
    try {
      const result = await this.commit(head.id, { ...intent, state: "applied" });
      await this.settleIdempotencyKey(intent, result);
    } catch (error: unknown) {
      // Not recorded: give the claim back so that the next resolution (or echo) tries again.
      await this.store.updateIntent(head.id, intent.intentId, { state: from }, "applied").catch(() => false);
      throw error;
    }
    if (currentOwner === undefined) await this.store.releaseLease(head.id, intent.leaseOwner);
    return "applied";
  }

  /** Forgets an intent that did not (or cannot be shown to) apply; if it was applied meanwhile, says so. */
  private async drop(
    id: string,
    intent: EditIntent,
    currentOwner: string | undefined,
    outcome: "not-applied" | "abandoned",
  ): Promise<ResolveOutcome> {
    if (!(await this.store.deleteIntent(id, intent.intentId))) {
      return (await this.store.getIntent(id))?.state === "applied" ? "applied" : outcome;
    }
    await this.settleIdempotencyKey(intent);
    if (currentOwner === undefined) await this.store.releaseLease(id, intent.leaseOwner);
    return outcome;
  }

  /**
   * An edit whose outcome was unknown kept its Idempotency-Key held (another body: 422); settled, the key
   * remembers the result (applied) or is freed for a retry (not applied).
   */
  private async settleIdempotencyKey(intent: EditIntent, result?: EditResult): Promise<void> {
    const { idempotencyKey: key, idempotencyHash: hash } = intent;
    if (key === undefined || hash === undefined) return;
    if (result) {
      await this.store.completeIdempotencyKey(
        key,
        hash,
        { status: 200, body: result },
        this.clock.now() + this.options.idempotencyTtlMs,
      );
    } else {
      await this.store.releaseIdempotencyKey(key, hash);
    }
  }

  private async appliedResult(id: string, intent: EditIntent): Promise<EditResult> {
    const head = await this.mustGet(id);
    const version = await this.store.getVersion(id, head.version);
    return { head, ...(version && version.contentHash === intent.contentHash ? { version } : {}) };
  }

  private async mustGet(id: string): Promise<MessageHead> {
    const head = await this.store.getHead(id);
    if (!head) throw new NotFoundError(`no message ${id}`);
    return head;
  }

  /**
   * A recall or send failure came from a callback, which can be replayed with another body within the
   * signature window: before it refuses an edit, the provider's history is asked. A message it still shows,
   * not recalled, is sent after all (the head says so again); anything else keeps the refusal.
   */
  private async reinstateIfPresent(
    head: MessageHead,
    editor: ProviderEditor,
    deadline: number,
  ): Promise<MessageHead> {
    if ((head.state !== "recalled" && head.state !== "failed") || head.version === 0 || !editor.probe) {
      return head;
    }
    const seen = await editor.probe(head, deadline).catch(() => undefined);
    if (seen !== "present") return head;
    const { sendError: _, ...rest } = head;
    const reinstated: MessageHead = {
      ...rest,
      state: "sent",
      updatedAt: new Date(this.clock.now()).toISOString(),
      rev: head.rev + 1,
    };
    return (await this.store.putHead(reinstated, head.rev)) ? reinstated : head;
  }

  private checkEditable(head: MessageHead, editor: ProviderEditor, ifMatch: number | undefined): void {
    if (!isEditable(head)) {
      const why =
        head.state !== "sent" ? `it is ${head.state}` : (head.notEditable ?? "the provider cannot edit it");
      throw new ConflictError(`message ${head.id} cannot be edited: ${why}`, { code: "not_editable" });
    }
    editor.checkEditable(head, new Date(this.clock.now()));
    if (ifMatch !== undefined && ifMatch !== head.version) {
      throw new PreconditionFailedError(`message ${head.id} is at version ${head.version}, not ${ifMatch}`, {
        details: { version: head.version },
      });
    }
  }

  /** Waits for the per-message lease up to the wait budget, then 409. */
  private async acquireLease(id: string, owner: string): Promise<void> {
    const deadline = this.clock.now() + this.options.waitBudgetMs;
    let pause = 20;
    for (;;) {
      const now = this.clock.now();
      if (await this.store.acquireLease(id, owner, now + this.options.leaseMs, now)) return;
      if (now + pause > deadline) {
        throw new ConflictError(`message ${id} is being edited; try again shortly`, {
          code: "lease_held",
          retryAfter: 1,
        });
      }
      await this.clock.sleep(pause);
      pause = Math.min(250, pause * 2);
    }
  }

  /**
   * Same key + same request → the first result, without a second call; another request → 422. Successes
   * are remembered; a failed attempt frees the key so the client can retry it; an unknown outcome holds it
   * until settled.
   */
  private async idempotent(
    key: string | undefined,
    request: unknown,
    run: (requestHash?: string) => Promise<EditResult>,
  ): Promise<EditResult> {
    if (key === undefined) return run();
    const requestHash = contentHash({ request: canonicalJson(request) });
    const now = this.clock.now();
    const deadline = now + this.options.waitBudgetMs;
    // While pending, the key holds only as long as an attempt can run: a crashed attempt frees it soon.
    const claimed = await this.store.claimIdempotencyKey(
      {
        key,
        requestHash,
        state: "pending",
        expiresAtMs: now + this.options.waitBudgetMs * 2 + this.options.leaseMs,
      },
      now,
    );
    if (!claimed) {
      for (;;) {
        const record = await this.store.getIdempotencyRecord(key, this.clock.now());
        if (!record) return this.idempotent(key, request, run); // expired or released meanwhile
        if (record.requestHash !== requestHash) {
          throw new UnprocessableError("this Idempotency-Key was used for a different request", {
            code: "idempotency_mismatch",
          });
        }
        if (record.state === "done" && record.response) return record.response.body as EditResult;
        if (this.clock.now() > deadline) {
          throw new ConflictError("a request with this Idempotency-Key is still in progress", {
            code: "idempotency_in_progress",
            retryAfter: 1,
          });
        }
        await this.clock.sleep(100);
      }
    }
    try {
      const result = await run(requestHash);
      await this.store.completeIdempotencyKey(
        key,
        requestHash,
        { status: 200, body: result },
        this.clock.now() + this.options.idempotencyTtlMs,
      );
      return result;
    } catch (error: unknown) {
      if (error instanceof OutcomeUnknownError) {
        // Sent, not answered: the key stays this request's until the outcome is settled (then it is
        // completed or freed by the settlement), at the latest until an unresolved edit is abandoned.
        const until =
          this.clock.now() + this.options.resolveWindowMs + this.options.echoGraceMs + this.options.leaseMs;
        await this.store.holdIdempotencyKey(key, requestHash, until);
      } else {
        await this.store.releaseIdempotencyKey(key, requestHash);
      }
      throw error;
    }
  }

  private editor(provider: ProviderName): ProviderEditor {
    const editor = this.editors.get(provider);
    if (!editor) {
      throw new BadRequestError(`editing ${provider} messages is not configured`, {
        code: "provider_not_configured",
      });
    }
    return editor;
  }
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
