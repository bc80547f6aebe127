import { existsSync } from "node:fs";
import { readdir, rename } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DescribeTableCommand, ListTablesCommand, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../functions/adapters/dynamodb/store.ts";
import { SqliteStore, sqlitePath } from "../functions/adapters/sqlite/store.ts";
import { listingsValue } from "../functions/core/listings.ts";
import type { Store } from "../functions/core/store.ts";
import { ensureTable, startDynalite } from "./dynamo.ts";
import { emptyReport, type MigrationReport, migrateV1 } from "./layout-v1.ts";
import { tableListings } from "./reindex.ts";
import { listingsSetting, regionOf, runScript, UsageError } from "./table-cli.ts";

/** Where the local stack kept dynalite's LevelDB files before layout v2 (`DATA_DIR/dynalite`). */
export const V1_DIR = "dynalite";
/** Where a migrated DATA_DIR's old files are moved (never deleted). */
export const V1_BACKUP = "layout-v1-backup";

/** True when DATA_DIR holds the old layout's files (a non-empty `dynalite` folder). */
export async function hasV1Data(dataDir: string): Promise<boolean> {
  const dir = join(dataDir, V1_DIR);
  return existsSync(dir) && (await readdir(dir)).length > 0;
}

/** Every v1 index name; a table with any of them was written by the old layout. */
const V1_INDEXES = new Set(["byKey", "bySender"]);

/** True when `tableName` exists at the client's endpoint with the old layout's indexes. */
export async function isV1Table(client: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return (Table?.GlobalSecondaryIndexes ?? []).some((index) => V1_INDEXES.has(index.IndexName ?? ""));
  } catch (error: unknown) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

const formatReport = (r: MigrationReport): string =>
  `${r.messages} messages, ${r.versions} later versions, ${r.leases} leases, ${r.intents} intents, ` +
  `${r.idempotencyKeys} idempotency keys; ${r.alreadyPresent} already there, ${r.skipped} expired or unusable, ` +
  `${r.orphans} orphaned parts, ${r.unknown} unknown items`;

/**
 * Migrates the old layout's files under DATA_DIR (dynalite's LevelDB) into `target`, then moves them to
 * DATA_DIR/layout-v1-backup. Refuses (throws, moving nothing) when the files hold no table by that name
 * but other tables: which one is meant is the user's call (`npm run migrate -- --table NAME`).
 */
export async function migrateDataDir(
  dataDir: string,
  tableName: string,
  target: Store,
  options: { log?: (line: string) => void; keepSource?: boolean } = {},
): Promise<{ report: MigrationReport; backup?: string }> {
  const source = join(dataDir, V1_DIR);
  let dynalite: Awaited<ReturnType<typeof startDynalite>>;
  try {
    dynalite = await startDynalite({ path: source });
  } catch (error: unknown) {
    throw new Error(
      `cannot open the old data in ${source} (is an older im-edit still running on it?): ${String(error)}`,
    );
  }
  const client = createDocumentClient({ region: "local", endpoint: dynalite.endpoint });
  let report: MigrationReport;
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    if (!TableNames.includes(tableName) && TableNames.length > 0) {
      throw new Error(
        `${source} holds the tables ${TableNames.join(", ")} but not ${tableName}: ` +
          `run \`npm run migrate -- --data-dir ${dataDir} --table <name>\`, or set TABLE_NAME`,
      );
    }
    options.log?.(`migrating ${source} (table ${tableName}, storage layout v1) to layout v2…`);
    report = TableNames.includes(tableName)
      ? await migrateV1(client, tableName, target, options.log ? { log: options.log } : {})
      : emptyReport();
  } finally {
    client.destroy();
    await dynalite.close();
  }
  options.log?.(`migrated: ${formatReport(report)}`);
  if (options.keepSource) return { report };
  let backup = join(dataDir, V1_BACKUP);
  if (existsSync(backup)) backup = `${backup}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await rename(source, backup);
  options.log?.(`the old files are kept in ${backup} (delete them once you no longer need them)`);
  return { report, backup };
}

const USAGE = `npm run migrate -- [source] [target]

Converts im-edit data from storage layout v1 to v2 (idempotent: safe to run again).

source (default: the old local layout in DATA_DIR, i.e. DATA_DIR/dynalite):
  --data-dir DIR        an old DATA_DIR (its dynalite folder is moved to layout-v1-backup afterwards)
  --endpoint URL        any DynamoDB-compatible endpoint (DynamoDB Local, dynalite)
  --aws                 AWS DynamoDB (region from --region or AWS_REGION, credentials as the AWS SDK finds them)
  --table NAME          the v1 table (default: TABLE_NAME or im-edit)
  --keep-source         leave an old DATA_DIR's files where they are
target (default: the embedded store in DATA_DIR, or in the --data-dir given):
  --to-data-dir DIR     the embedded store (DIR/im-edit.sqlite)
  --to-endpoint URL     a DynamoDB-compatible endpoint (the table is created when missing)
  --to-aws              AWS DynamoDB (the table must exist: deploy the stack first)
  --to-table NAME       the v2 table (required with --to-endpoint or --to-aws; not the source table)
RETENTION_DAYS applies to the target as it does to the service, and LISTINGS to a DynamoDB target.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string" },
      endpoint: { type: "string" },
      aws: { type: "boolean" },
      region: { type: "string" },
      table: { type: "string" },
      "keep-source": { type: "boolean" },
      "to-data-dir": { type: "string" },
      "to-endpoint": { type: "string" },
      "to-aws": { type: "boolean" },
      "to-table": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = process.env;
  const region = regionOf(values.region, env, values.aws === true || values["to-aws"] === true);
  // Read before any table is touched: a bad value is a usage error.
  const wanted = listingsSetting(env.LISTINGS, "LISTINGS");
  const table = values.table ?? env.TABLE_NAME ?? "im-edit";
  const retention = env.RETENTION_DAYS !== undefined ? { retentionDays: Number(env.RETENTION_DAYS) } : {};
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const remote = values.endpoint !== undefined || values.aws === true;
  const dataDir = resolve(values["data-dir"] ?? env.DATA_DIR ?? ".data");

  // The target.
  let target: Store;
  let closeTarget: () => void = () => {};
  const toRemote = values["to-endpoint"] !== undefined || values["to-aws"] === true;
  if (toRemote) {
    const toTable = values["to-table"];
    if (toTable === undefined) throw new UsageError("--to-table is required with --to-endpoint or --to-aws");
    if (remote && toTable === table && values["to-endpoint"] === values.endpoint)
      throw new UsageError("v1 and v2 share their keys: migrate into another table than the source");
    const endpoint = values["to-endpoint"];
    if (endpoint !== undefined) await ensureTable(endpoint, toTable);
    const documents = createDocumentClient({ region, ...(endpoint !== undefined ? { endpoint } : {}) });
    if (await isV1Table(documents, toTable))
      throw new UsageError(`${toTable} has the v1 layout: not a target`);
    // The heads it writes carry the index keys of the listings the target table has indexes for.
    const listings = await tableListings(documents, toTable);
    if (wanted !== undefined && listingsValue(wanted) !== listingsValue(listings))
      throw new UsageError(
        `LISTINGS=${listingsValue(wanted)}, but ${toTable} has the indexes of ${listingsValue(listings)}: unset LISTINGS, or deploy the target with -c listings=${listingsValue(wanted)}`,
      );
    target = new DynamoStore(documents, toTable, { ...retention, listings });
    closeTarget = () => documents.destroy();
    log(
      `target: DynamoDB table ${toTable}${endpoint !== undefined ? ` at ${endpoint}` : ` in AWS ${region}`}`,
    );
  } else {
    const dir = resolve(values["to-data-dir"] ?? dataDir);
    const store = new SqliteStore({ path: sqlitePath(dir), ...retention, purgeIntervalMs: 0 });
    target = store;
    closeTarget = () => store.close();
    log(`target: embedded store ${sqlitePath(dir)}`);
  }

  try {
    if (remote) {
      const documents = createDocumentClient({
        region,
        ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
      });
      try {
        log(
          `source: DynamoDB table ${table}${values.endpoint ? ` at ${values.endpoint}` : ` in AWS ${region}`}`,
        );
        const report = await migrateV1(documents, table, target, { log });
        log(`migrated: ${formatReport(report)}`);
      } finally {
        documents.destroy();
      }
    } else {
      if (!(await hasV1Data(dataDir))) {
        throw new UsageError(`${join(dataDir, V1_DIR)} holds no v1 data (nothing to migrate)`);
      }
      await migrateDataDir(dataDir, table, target, { log, keepSource: values["keep-source"] === true });
    }
  } finally {
    closeTarget();
  }
}

runScript(import.meta.url, "migrate", USAGE, main);
