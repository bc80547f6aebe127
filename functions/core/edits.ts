import { randomUUID } from "node:crypto";
import { type EditOptions, EditProtocol } from "./edit-protocol.ts";
import {
  DEFAULT_EDIT_OPTIONS,
  type EditResult,
  type EditServiceOptions,
  EditSettlement,
  type ResolveOutcome,
  resultOf,
} from "./edit-settlement.ts";
import { NotFoundError, UnprocessableError } from "./errors.ts";
import { Idempotency } from "./idempotency.ts";
import { type Clock, systemClock } from "./limiter.ts";
import { type Content, canonicalJson, type MessageHead, type ProviderName } from "./model.ts";
import type { ProviderEditor } from "./provider.ts";
import { purgeHistory } from "./purge.ts";
import type { MessageQueries } from "./queries.ts";
import type { EchoMatcher } from "./recorder-events.ts";
import type { Store } from "./store.ts";

/**
 * The edit service: edits, restores, computed edits (rules, jobs) and purges of one message, an edit
 * idempotent under its key; each edit runs the edit protocol (EditProtocol).
 */
export class EditService {
  private readonly clock: Clock;
  private readonly settlement: EditSettlement;
  private readonly idempotency: Idempotency<EditResult>;
  private readonly protocol: EditProtocol;

  constructor(
    private readonly store: Store,
    editors: ReadonlyMap<ProviderName, ProviderEditor>,
    private readonly queries: MessageQueries,
    options: EditServiceOptions = DEFAULT_EDIT_OPTIONS,
  ) {
    this.clock = options.clock ?? systemClock;
    this.idempotency = new Idempotency(store, this.clock, {
      waitBudgetMs: options.waitBudgetMs,
      ttlMs: options.idempotencyTtlMs,
      pendingMs: options.waitBudgetMs * 2 + options.leaseMs,
      unknownHoldMs: options.resolveWindowMs + options.echoGraceMs + options.leaseMs,
    });
    this.settlement = new EditSettlement(store, editors, options, this.clock, this.idempotency);
    this.protocol = new EditProtocol(store, this.settlement, options, this.clock);
  }

  async edit(id: string, body: unknown, options: EditOptions): Promise<EditResult> {
    return this.idempotency.run(
      options.idempotencyKey,
      { op: "edit", id, body, ifMatch: options.ifMatch },
      async (idempotencyHash) => {
        const head = await this.queries.get(id);
        const editor = this.settlement.editor(head.provider);
        const change = editor.parseChange(body);
        return resultOf(
          await this.protocol.run(
            head,
            options,
            "api",
            (current) => editor.plan(current, change),
            idempotencyHash,
          ),
        );
      },
    );
  }

  async restore(id: string, versionNumber: number, options: EditOptions): Promise<EditResult> {
    return this.idempotency.run(
      options.idempotencyKey,
      { op: "restore", id, versionNumber, ifMatch: options.ifMatch },
      async (idempotencyHash) => {
        const head = await this.queries.get(id);
        const target = await this.store.getVersion(head.id, versionNumber);
        if (!target) throw new NotFoundError(`message ${head.id} has no version ${versionNumber}`);
        if (target.purged)
          throw new UnprocessableError(`version ${versionNumber} was purged`, { code: "not_restorable" });
        const editor = this.settlement.editor(head.provider);
        return resultOf(
          await this.protocol.run(
            head,
            options,
            "restore",
            (current) => editor.planRestore(current, target.content),
            idempotencyHash,
          ),
        );
      },
    );
  }

  /**
   * An edit computed from the message itself (rules, bulk jobs): `target` gets the message as it is when
   * the edit runs (again after waiting for a busy one) and answers the whole content it should have, or
   * undefined to leave it. Only the fields that differ are sent, through the provider's own edit body.
   * The result has no `version` when nothing had to change.
   */
  async apply(
    id: string,
    target: (head: MessageHead) => Content | undefined,
    options: EditOptions,
  ): Promise<EditResult> {
    const head = await this.queries.get(id);
    const editor = this.settlement.editor(head.provider);
    return resultOf(
      await this.protocol.run(head, options, options.source ?? "api", (current) => {
        const wanted = target(current);
        const changed = wanted === undefined ? {} : changedFields(current.content ?? {}, wanted);
        if (Object.keys(changed).length === 0) return { content: current.content ?? {}, send: {} };
        return editor.plan(current, editor.parseChange(changed));
      }),
    );
  }

  /** Removes the content of every version but the newest; see `purgeHistory`. */
  async purge(id: string, reason: string, actor: string): Promise<{ head: MessageHead; purged: number }> {
    const found = await this.queries.get(id);
    const owner = randomUUID();
    await this.protocol.acquireLease(found.id, owner);
    try {
      // Read again under the lease: an edit committed while we waited made another version the newest.
      const head = await this.store.getHead(found.id);
      if (!head) throw new NotFoundError(`no message ${found.id}`);
      const at = new Date(this.clock.now()).toISOString();
      const purged = await purgeHistory(this.store, head, { reason, actor, at });
      return { head: resultOf({ head }).head, purged };
    } finally {
      await this.store.releaseLease(found.id, owner);
    }
  }

  /** Settles an edit whose outcome was unknown (the scheduler's entry point). */
  resolve(id: string, currentOwner?: string): Promise<ResolveOutcome> {
    return this.settlement.resolve(id, currentOwner);
  }

  /** The recorder's hook: an after-modify matching our open (or just applied) intent is our own echo. */
  echoMatcher(operatorOf: (provider: ProviderName) => string | undefined): EchoMatcher {
    return this.settlement.echoMatcher(operatorOf);
  }
}

/** The top-level fields of `wanted` whose values differ from `current`'s (absent ones as empty strings). */
function changedFields(current: Content, wanted: Content): Content {
  const fields = new Set([...Object.keys(current), ...Object.keys(wanted)]);
  return Object.fromEntries(
    [...fields]
      .filter((field) => canonicalJson(current[field] ?? "") !== canonicalJson(wanted[field] ?? ""))
      .map((field) => [field, wanted[field] ?? ""]),
  );
}
