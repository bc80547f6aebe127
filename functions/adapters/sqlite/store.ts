import { join } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { EditIntent, IntentState, Lease, MessageHead, Version } from "../../core/model.ts";
import type {
  EditCommit,
  IdempotencyRecord,
  IntentChange,
  KeyQuery,
  ListQuery,
  Page,
  PageRequest,
  Store,
} from "../../core/store.ts";
import { type Checkpointer, startCheckpointer } from "./checkpoint.ts";
import { SqliteCoordination } from "./coordination.ts";
import { SqliteIdempotency } from "./idempotency.ts";
import { SqliteMessages, type StoreClock } from "./messages.ts";
import { openDatabase } from "./schema.ts";

/** The file under DATA_DIR that holds the embedded store (plus SQLite's `-wal` and `-shm` beside it). */
export const SQLITE_FILE = "im-edit.sqlite";

export const sqlitePath = (dataDir: string): string => join(dataDir, SQLITE_FILE);

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (tests). */
  readonly path: string;
  /** Optional retention, as the DynamoDB adapter's: rows expire this many days after their own time. */
  readonly retentionDays?: number;
  readonly now?: () => Date;
  /** How often expired rows are deleted (DynamoDB's TTL, locally); default hourly, 0 = only at open. */
  readonly purgeIntervalMs?: number;
  /** How often the WAL is checkpointed, off the event loop (checkpoint.ts); default 500 ms. */
  readonly checkpointIntervalMs?: number;
}

/**
 * The embedded store: storage layout v2 on `node:sqlite` (built into Node 24, synchronous, no native
 * build), what `npm start` runs by default. Same semantics as the DynamoDB adapter (one contract suite,
 * test/contract, runs against both). Local and tests only: no Lambda bundle imports it.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly messages: SqliteMessages;
  private readonly coordination: SqliteCoordination;
  private readonly idempotency: SqliteIdempotency;
  private readonly purgeStatements: StatementSync[];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly now: () => Date;

  constructor(readonly options: SqliteStoreOptions) {
    this.now = options.now ?? (() => new Date());
    const days = options.retentionDays;
    const clock: StoreClock = {
      nowMs: () => this.now().getTime(),
      // Whole seconds, as DynamoDB's TTL attribute: both adapters expire a row at the same instant.
      expiry: (from) =>
        days === undefined ? null : (Math.floor(Date.parse(from) / 1000) + days * 86_400) * 1000,
    };
    this.db = openDatabase(options.path);
    this.messages = new SqliteMessages(this.db, clock);
    this.coordination = new SqliteCoordination(this.db);
    this.idempotency = new SqliteIdempotency(this.db);
    this.purgeStatements = [
      this.db.prepare("DELETE FROM heads WHERE expires_at IS NOT NULL AND expires_at <= :now"),
      this.db.prepare("DELETE FROM versions WHERE expires_at IS NOT NULL AND expires_at <= :now"),
      this.db.prepare("DELETE FROM idempotency WHERE expires_at_ms <= :now"),
    ];
    this.purgeExpired();
    const interval = options.purgeIntervalMs ?? 3_600_000;
    this.timer = interval > 0 ? setInterval(() => this.purgeExpired(), interval).unref() : undefined;
    this.checkpointer =
      options.path === ":memory:"
        ? undefined
        : startCheckpointer(options.path, options.checkpointIntervalMs ?? 500, (message) =>
            process.emitWarning(`im-edit: WAL checkpoint failed: ${message}`),
          );
  }

  /** Deletes what retention and idempotency expiry made absent (reads already skip it). */
  purgeExpired(): number {
    const now = this.now().getTime();
    return this.purgeStatements.reduce((sum, statement) => sum + Number(statement.run({ now }).changes), 0);
  }

  /** Stops the timers, checkpoints the WAL into the database file and closes it. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.checkpointer?.stop();
    if (!this.db.isOpen) return;
    if (this.options.path !== ":memory:") {
      try {
        this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // Busy (another process reads): the WAL stays and is checkpointed by the next opener.
      }
    }
    this.db.close();
  }

  getHead(id: string): Promise<MessageHead | undefined> {
    return this.messages.getHead(id);
  }
  createHead(head: MessageHead): Promise<MessageHead | undefined> {
    return this.messages.createHead(head);
  }
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    return this.messages.putHead(head, expectedRev);
  }
  putVersion(id: string, version: Version): Promise<boolean> {
    return this.messages.putVersion(id, version);
  }
  recentVersions(id: string, limit: number): Promise<Version[]> {
    return this.messages.recentVersions(id, limit);
  }
  listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    return this.messages.listVersions(id, page);
  }
  getVersion(id: string, version: number): Promise<Version | undefined> {
    return this.messages.getVersion(id, version);
  }
  replaceVersion(id: string, version: Version): Promise<boolean> {
    return this.messages.replaceVersion(id, version);
  }
  findByKey(query: KeyQuery): Promise<MessageHead[]> {
    return this.messages.findByKey(query);
  }
  list(query: ListQuery): Promise<Page<MessageHead>> {
    return this.messages.list(query);
  }

  acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean> {
    return this.coordination.acquireLease(id, lease, nowMs);
  }
  extendLease(id: string, lease: Lease): Promise<boolean> {
    return this.coordination.extendLease(id, lease);
  }
  releaseLease(id: string, owner: string): Promise<void> {
    return this.coordination.releaseLease(id, owner);
  }
  beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean> {
    return this.coordination.beginEdit(id, lease, intent, nowMs);
  }
  putIntent(id: string, intent: EditIntent): Promise<boolean> {
    return this.coordination.putIntent(id, intent);
  }
  updateIntent(id: string, intentId: string, change: IntentChange, from?: IntentState): Promise<boolean> {
    return this.coordination.updateIntent(id, intentId, change, from);
  }
  deleteIntent(id: string, intentId: string, options?: { evenIfApplied?: boolean }): Promise<boolean> {
    return this.coordination.deleteIntent(id, intentId, options);
  }
  commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined> {
    return this.coordination.commitEdit(id, commit);
  }

  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    return this.idempotency.claimIdempotencyKey(record, nowMs);
  }
  getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    return this.idempotency.getIdempotencyRecord(key, nowMs);
  }
  completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void> {
    return this.idempotency.completeIdempotencyKey(key, requestHash, result, expiresAtMs);
  }
  releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    return this.idempotency.releaseIdempotencyKey(key, requestHash);
  }
  holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    return this.idempotency.holdIdempotencyKey(key, requestHash, expiresAtMs);
  }
  replaceIdempotencyResult(key: string, result: unknown): Promise<void> {
    return this.idempotency.replaceIdempotencyResult(key, result);
  }
}
