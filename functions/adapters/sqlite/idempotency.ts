import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { IdempotencyRecord, IdempotencyStore } from "../../core/store.ts";

interface IdempotencyRow {
  readonly key: string;
  readonly request_hash: string;
  readonly state: "pending" | "done";
  readonly result: string | null;
  readonly expires_at_ms: number;
}

/** `Idempotency-Key` records on SQLite: each method one statement; expired records read as absent. */
export class SqliteIdempotency implements IdempotencyStore {
  private readonly claim: StatementSync;
  private readonly select: StatementSync;
  private readonly complete: StatementSync;
  private readonly release: StatementSync;
  private readonly hold: StatementSync;
  private readonly replace: StatementSync;

  constructor(db: DatabaseSync) {
    this.claim = db.prepare(
      `INSERT INTO idempotency (key, request_hash, state, result, expires_at_ms)
       VALUES (:key, :request_hash, :state, :result, :expires_at_ms)
       ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, state = excluded.state,
         result = excluded.result, expires_at_ms = excluded.expires_at_ms
       WHERE idempotency.expires_at_ms <= :now`,
    );
    this.select = db.prepare("SELECT * FROM idempotency WHERE key = :key AND expires_at_ms > :now");
    // A key released or reclaimed meanwhile keeps its new owner's record.
    this.complete = db.prepare(
      `UPDATE idempotency SET state = 'done', result = :result, expires_at_ms = :expires_at_ms
       WHERE key = :key AND request_hash = :request_hash`,
    );
    this.release = db.prepare("DELETE FROM idempotency WHERE key = :key AND request_hash = :request_hash");
    this.hold = db.prepare(
      `UPDATE idempotency SET expires_at_ms = :expires_at_ms
       WHERE key = :key AND request_hash = :request_hash AND state = 'pending'`,
    );
    this.replace = db.prepare("UPDATE idempotency SET result = :result WHERE key = :key AND state = 'done'");
  }

  async claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    const result = this.claim.run({
      key: record.key,
      request_hash: record.requestHash,
      state: record.state,
      result: json(record.result),
      expires_at_ms: record.expiresAtMs,
      now: nowMs,
    });
    return result.changes === 1;
  }

  async getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const row = this.select.get({ key, now: nowMs }) as IdempotencyRow | undefined;
    if (!row) return undefined;
    return {
      key: row.key,
      requestHash: row.request_hash,
      state: row.state,
      ...(row.result !== null ? { result: JSON.parse(row.result) as unknown } : {}),
      expiresAtMs: row.expires_at_ms,
    };
  }

  async completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void> {
    this.complete.run({ key, request_hash: requestHash, result: json(result), expires_at_ms: expiresAtMs });
  }

  async releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    this.release.run({ key, request_hash: requestHash });
  }

  async holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    return this.hold.run({ key, request_hash: requestHash, expires_at_ms: expiresAtMs }).changes === 1;
  }

  async replaceIdempotencyResult(key: string, result: unknown): Promise<void> {
    this.replace.run({ key, result: json(result) });
  }
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
