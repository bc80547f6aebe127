import { DatabaseSync } from "node:sqlite";

/**
 * The embedded store's schema (storage layout v2 on SQLite): one row per message head with version 1,
 * the lease and the intent inline, one row per version ≥ 2, one row per `Idempotency-Key`, one row per
 * bulk job. Domain data is JSON; the columns beside it exist only for keys, indexes and the conditions of
 * conditional writes.
 *
 * | table         | key                 | holds                                                                    |
 * |---------------|---------------------|--------------------------------------------------------------------------|
 * | `heads`       | `id`                | `data` (head minus version/rev/first/lease/intent), `first`, lease, `intent` |
 * | `versions`    | `(id, version)`     | `data` (the whole Version), n ≥ 2                                        |
 * | `idempotency` | `key`               | request hash, state, `result` (JSON), expiry                             |
 * | `jobs`        | `id`                | `status`, `rev`, `data` (the whole Job); listed newest first by `id`     |
 *
 * Listings are newest first by `sort_key` = `<createdAt>#<id>` (the same order as the DynamoDB adapter's
 * sort keys), on partial indexes that hold only listed heads (resolved provisional heads are in none).
 * `expires_at` (epoch ms) is the optional retention: expired rows read as absent and are purged. Jobs have
 * no retention.
 *
 * Versions: 1 = heads, versions, idempotency; 2 adds `jobs`. Every open runs the DDL (all `IF NOT EXISTS`),
 * so a file written at an older version gains what it lacks at open, in the same transaction that
 * records the new version.
 */
export const SCHEMA_VERSION = 2;

const DDL = `
CREATE TABLE IF NOT EXISTS heads (
  id TEXT PRIMARY KEY NOT NULL,
  provider TEXT NOT NULL,
  app_id TEXT NOT NULL,
  conversation TEXT NOT NULL,
  sender TEXT,
  lookup_key TEXT,
  listed INTEGER NOT NULL,
  sort_key TEXT NOT NULL,
  version INTEGER NOT NULL,
  rev INTEGER NOT NULL,
  data TEXT NOT NULL,
  first TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  intent TEXT,
  intent_id TEXT GENERATED ALWAYS AS (intent ->> '$.intentId') VIRTUAL,
  intent_state TEXT GENERATED ALWAYS AS (intent ->> '$.state') VIRTUAL,
  expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS heads_by_conversation
  ON heads (provider, app_id, conversation, sort_key) WHERE listed = 1;
CREATE INDEX IF NOT EXISTS heads_by_conversation_sender
  ON heads (provider, app_id, conversation, sender, sort_key) WHERE listed = 1 AND sender IS NOT NULL;
CREATE INDEX IF NOT EXISTS heads_by_sender
  ON heads (provider, app_id, sender, sort_key) WHERE listed = 1 AND sender IS NOT NULL;
CREATE INDEX IF NOT EXISTS heads_by_app ON heads (provider, app_id, sort_key) WHERE listed = 1;
CREATE INDEX IF NOT EXISTS heads_by_key
  ON heads (provider, app_id, lookup_key) WHERE listed = 1 AND lookup_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS heads_expiry ON heads (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS versions (
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS versions_expiry ON versions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY NOT NULL,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT,
  expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at_ms);

CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL,
  rev INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (id) WHERE status IN ('queued', 'running');
`;

/**
 * Opens (creating if needed) the database: WAL (readers never wait for the writer), `synchronous=NORMAL`
 * (durable across process crashes; a power cut may lose the last transactions, never corrupt), a busy
 * timeout so a second process (e.g. `npm run migrate` against a running stack) waits instead of failing.
 */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: 5_000 });
  try {
    if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
    db.exec(
      "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000; PRAGMA wal_autocheckpoint = 0;",
    );
    const { user_version: found } = db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (found > SCHEMA_VERSION) {
      throw new Error(
        `${path} was written by a newer im-edit (schema ${found}, this one knows ${SCHEMA_VERSION})`,
      );
    }
    db.exec(`BEGIN IMMEDIATE; ${DDL} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
    return db;
  } catch (error: unknown) {
    if (db.isTransaction) db.exec("ROLLBACK");
    db.close();
    throw error;
  }
}
