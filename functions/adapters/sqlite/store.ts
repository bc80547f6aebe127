import { join } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { ComposedStore } from "../composed-store.ts";
import { type Checkpointer, startCheckpointer } from "./checkpoint.ts";
import { SqliteCoordination } from "./coordination.ts";
import { SqliteIdempotency } from "./idempotency.ts";
import { SqliteJobs } from "./jobs.ts";
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
export class SqliteStore extends ComposedStore {
  private readonly db: DatabaseSync;
  private readonly purgeStatements: StatementSync[];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly now: () => Date;

  constructor(readonly options: SqliteStoreOptions) {
    const now = options.now ?? (() => new Date());
    const days = options.retentionDays;
    const clock: StoreClock = {
      nowMs: () => now().getTime(),
      // Whole seconds, as DynamoDB's TTL attribute: both adapters expire a row at the same instant.
      expiry: (from) =>
        days === undefined ? null : (Math.floor(Date.parse(from) / 1000) + days * 86_400) * 1000,
    };
    const db = openDatabase(options.path);
    const messages = new SqliteMessages(db, clock);
    super({
      messages,
      listing: messages,
      coordination: new SqliteCoordination(db),
      idempotency: new SqliteIdempotency(db),
      jobs: new SqliteJobs(db),
    });
    this.now = now;
    this.db = db;
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
}
