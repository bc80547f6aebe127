import { randomUUID } from "node:crypto";
import type { EditResult, EditServiceOptions, EditSettlement } from "./edit-settlement.ts";
import {
  ConflictError,
  NotFoundError,
  OutcomeUnknownError,
  PreconditionFailedError,
  ProviderUnavailableError,
} from "./errors.ts";
import type { Clock } from "./limiter.ts";
import { contentHash, type EditIntent, isEditable, type MessageHead } from "./model.ts";
import { editFailedEvent, publishQuietly } from "./outbox.ts";
import type { EditPlan, ProviderEditor } from "./provider.ts";
import type { Store } from "./store.ts";

export interface EditOptions {
  /** `If-Match`: the version the caller saw; a newer one gives 412 before any provider call. */
  readonly ifMatch?: number;
  readonly idempotencyKey?: string;
  readonly actor: string;
  readonly source?: "api" | "auto";
  readonly ruleId?: string;
  /** The bulk job the edit belongs to (its version carries it). */
  readonly jobId?: string;
  /** When the request reached im-edit (epoch ms): the wait budget counts from it, not from this call. */
  readonly receivedAt?: number;
}

/**
 * The edit protocol (ARCHITECTURE.md "Storage rules"), one message at a time: lease and intent (one
 * write when the message is free) → provider call → version → head with the lease released. The intent
 * lets the recorder recognize the provider's echo of our own edit (even before the provider's HTTP
 * answer) and lets an unanswered call be resolved later by the echo or a read-back (EditSettlement).
 */
export class EditProtocol {
  constructor(
    private readonly store: Store,
    private readonly settlement: EditSettlement,
    private readonly options: EditServiceOptions,
    private readonly clock: Clock,
  ) {}

  async run(
    requested: MessageHead,
    options: EditOptions,
    source: "api" | "auto" | "restore",
    plan: (head: MessageHead) => EditPlan,
    idempotencyHash?: string,
  ): Promise<EditResult> {
    const editor = this.settlement.editor(requested.provider);
    const started = Math.min(options.receivedAt ?? Number.POSITIVE_INFINITY, this.clock.now());
    const found = await this.reinstateIfPresent(requested, editor, started + this.options.waitBudgetMs);
    this.checkEditable(found, editor, options.ifMatch);
    plan(found); // refuse bad content before waiting for the message
    // Refused at once (429) when the provider's slot is not expected inside the budget: no lease, no intent.
    // The estimate covers the queue and the provider's answer, not the work around them (HTTP, store, echo)
    // nor its own error: it must fit in the budget less a headroom.
    const admission = this.options.limiter?.admit?.(
      editor.rateKeys?.(found) ?? [],
      (started + this.options.waitBudgetMs - this.clock.now()) * (1 - ADMISSION_HEADROOM),
    );
    const owner = randomUUID();
    const newIntent = (head: MessageHead, planned: EditPlan): EditIntent => {
      const now = this.clock.now();
      return {
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
        ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
        state: "open",
        createdAt: new Date(now).toISOString(),
        deadline: now + this.options.leaseMs,
      };
    };
    let leased = false;
    let keepLease = false;
    try {
      let head = found;
      let planned = plan(head);
      if (contentHash(planned.content) === head.contentHash) return { head };
      let intent = newIntent(head, planned);
      // The message as just read is free: lease and intent in one write.
      const now = this.clock.now();
      leased = isFree(head, now) && (await this.store.beginEdit(head.id, lease(owner, intent), intent, now));
      if (!leased) {
        // Busy, or changed since it was read: wait for the lease, settle an earlier edit, read again.
        await this.acquireLease(found.id, owner);
        leased = true;
        if ((await this.settlement.resolve(found.id, owner)) === "unknown") {
          throw new ConflictError(
            "the previous edit of this message has an unknown outcome; try again shortly",
            {
              code: "previous_edit_unknown",
              retryAfter: 2,
            },
          );
        }
        const current = await this.store.getHead(found.id);
        if (!current) throw new NotFoundError(`no message ${found.id}`);
        head = current;
        this.checkEditable(head, editor, options.ifMatch);
        planned = plan(head);
        if (contentHash(planned.content) === head.contentHash) return { head };
        intent = newIntent(head, planned);
        if (!(await this.store.putIntent(head.id, intent))) throw leaseLost(head.id);
      }
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
              details: { outcome: "unknown", id: head.id },
            },
          );
        }
        // An explicit refusal with a matching echo: the echo may be forged or replayed (Tencent's Sign
        // covers no body), so only a read-back showing the edit can turn the refusal into "applied".
        const latest = (await this.store.getHead(head.id))?.intent;
        if (
          latest?.intentId === intent.intentId &&
          latest.confirmedAt !== undefined &&
          (await this.settlement.readBackVerdict(head, latest)) === "applied"
        ) {
          await this.settlement.settleApplied(head, latest, owner);
          return this.settlement.appliedResult(head.id, intent);
        }
        await this.store.deleteIntent(head.id, intent.intentId);
        await publishQuietly(this.options.outbox, [editFailedEvent(head, intent, this.at(), error)]);
        throw error;
      }
      try {
        const committed = await this.settlement.commit(head.id, intent, providerRequestId, head, owner);
        if (committed.released) leased = false;
        return committed;
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
          { details: { outcome: "unknown", id: head.id }, cause: error },
        );
      }
    } finally {
      admission?.done();
      if (leased && !keepLease) await this.store.releaseLease(found.id, owner);
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
    const outcome = await this.settlement.resolve(head.id, owner);
    const applied = async () => (await this.settlement.intentState(head.id, intent)) === "applied";
    // "none": the echo settled it between the two calls above.
    if (outcome === "applied" || (outcome === "none" && (await applied())))
      return this.settlement.appliedResult(head.id, intent);
    if (outcome === "not-applied" || outcome === "abandoned") {
      await publishQuietly(this.options.outbox, [editFailedEvent(head, intent, this.at(), "not_applied")]);
      throw new ProviderUnavailableError("the provider did not answer and did not apply the edit", {
        retryAfter: 1,
      });
    }
    if (!(await this.store.extendLease(head.id, { owner, until: resolveBy })) && (await applied())) {
      return this.settlement.appliedResult(head.id, intent);
    }
    return undefined;
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

  private at(): string {
    return new Date(this.clock.now()).toISOString();
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
  async acquireLease(id: string, owner: string): Promise<void> {
    const deadline = this.clock.now() + this.options.waitBudgetMs;
    let pause = 20;
    for (;;) {
      const now = this.clock.now();
      if (await this.store.acquireLease(id, { owner, until: now + this.options.leaseMs }, now)) return;
      if (now + pause > deadline) {
        throw leaseLost(id);
      }
      await this.clock.sleep(pause);
      pause = Math.min(250, pause * 2);
    }
  }
}

/** The share of the wait budget admission keeps free for the work around the provider call. */
const ADMISSION_HEADROOM = 0.2;

const leaseLost = (id: string) =>
  new ConflictError(`message ${id} is being edited; try again shortly`, {
    code: "lease_held",
    retryAfter: 1,
  });

/** No one holds the message and no earlier edit waits to be settled. */
function isFree(head: MessageHead, now: number): boolean {
  return (
    (head.lease === undefined || head.lease.until < now) && (head.intent?.state ?? "applied") === "applied"
  );
}

const lease = (owner: string, intent: EditIntent) => ({ owner, until: intent.deadline });
