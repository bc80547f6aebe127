import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { EditIntent, IntentState, Lease, MessageHead } from "../../core/model.ts";
import type { EditCommit, EditCoordination, IntentChange } from "../../core/store.ts";
import { HEAD_COLUMNS, type HeadRow, headFrom } from "./rows.ts";

/** The lease is free, expired at `:now`, or already `:owner`'s. */
const LEASE_TAKEABLE = "(lease_owner IS NULL OR lease_until < :now OR lease_owner = :owner)";

/**
 * The edit protocol's coordination on the head row: each method one conditional UPDATE whose `changes`
 * is the answer. Every one increments `rev`, so a whole-head write from an older read fails.
 */
export class SqliteCoordination implements EditCoordination {
  private readonly acquire: StatementSync;
  private readonly extend: StatementSync;
  private readonly release: StatementSync;
  private readonly begin: StatementSync;
  private readonly setIntent: StatementSync;
  private readonly patchIntent: StatementSync;
  private readonly removeIntent: StatementSync;
  private readonly commit: StatementSync;

  constructor(db: DatabaseSync) {
    this.acquire = db.prepare(
      `UPDATE heads SET lease_owner = :owner, lease_until = :until, rev = rev + 1
       WHERE id = :id AND ${LEASE_TAKEABLE}`,
    );
    this.extend = db.prepare(
      "UPDATE heads SET lease_until = :until, rev = rev + 1 WHERE id = :id AND lease_owner = :owner",
    );
    this.release = db.prepare(
      "UPDATE heads SET lease_owner = NULL, lease_until = NULL, rev = rev + 1 WHERE id = :id AND lease_owner = :owner",
    );
    this.begin = db.prepare(
      `UPDATE heads SET lease_owner = :owner, lease_until = :until, intent = :intent, rev = rev + 1
       WHERE id = :id AND version = :base AND ${LEASE_TAKEABLE}
         AND (intent IS NULL OR intent_state = 'applied')`,
    );
    this.setIntent = db.prepare(
      "UPDATE heads SET intent = :intent, rev = rev + 1 WHERE id = :id AND lease_owner = :owner",
    );
    this.patchIntent = db.prepare(
      `UPDATE heads SET intent = json_patch(intent, :patch), rev = rev + 1
       WHERE id = :id AND intent_id = :intent_id AND (:from IS NULL OR intent_state = :from)`,
    );
    this.removeIntent = db.prepare(
      `UPDATE heads SET intent = NULL, rev = rev + 1
       WHERE id = :id AND intent_id = :intent_id AND (:even_if_applied = 1 OR intent_state <> 'applied')`,
    );
    this.commit = db.prepare(
      `UPDATE heads SET
         version = :version,
         data = json_set(data, '$.content', json(:content), '$.contentHash', :content_hash,
                         '$.eventAt', :event_at, '$.updatedAt', :updated_at),
         intent = json_set(intent, '$.state', 'applied', '$.deadline', :echo_until),
         lease_owner = NULL, lease_until = NULL, rev = rev + 1
       WHERE id = :id AND lease_owner = :owner AND intent_id = :intent_id AND version = :version - 1
       RETURNING ${HEAD_COLUMNS}`,
    );
  }

  async acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean> {
    return this.acquire.run({ id, owner: lease.owner, until: lease.until, now: nowMs }).changes === 1;
  }

  async extendLease(id: string, lease: Lease): Promise<boolean> {
    return this.extend.run({ id, owner: lease.owner, until: lease.until }).changes === 1;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    this.release.run({ id, owner });
  }

  async beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean> {
    const result = this.begin.run({
      id,
      owner: lease.owner,
      until: lease.until,
      now: nowMs,
      base: intent.baseVersion,
      intent: JSON.stringify(intent),
    });
    return result.changes === 1;
  }

  async putIntent(id: string, intent: EditIntent): Promise<boolean> {
    return this.setIntent.run({ id, intent: JSON.stringify(intent), owner: intent.leaseOwner }).changes > 0;
  }

  async updateIntent(
    id: string,
    intentId: string,
    change: IntentChange,
    from?: IntentState,
  ): Promise<boolean> {
    // A merge patch of the fields given (undefined ones are left out by JSON.stringify).
    const result = this.patchIntent.run({
      id,
      intent_id: intentId,
      patch: JSON.stringify(change),
      from: from ?? null,
    });
    return result.changes === 1;
  }

  async deleteIntent(
    id: string,
    intentId: string,
    options: { evenIfApplied?: boolean } = {},
  ): Promise<boolean> {
    const result = this.removeIntent.run({
      id,
      intent_id: intentId,
      even_if_applied: options.evenIfApplied ? 1 : 0,
    });
    return result.changes === 1;
  }

  async commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined> {
    const { version } = commit;
    const row = this.commit.get({
      id,
      owner: commit.owner,
      intent_id: version.intentId ?? null,
      version: version.version,
      content: JSON.stringify(version.content),
      content_hash: version.contentHash,
      event_at: commit.eventAt,
      updated_at: commit.updatedAt,
      echo_until: commit.echoUntil,
    }) as HeadRow | undefined;
    return row ? headFrom(row) : undefined;
  }
}
