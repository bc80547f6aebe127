import { parseArgs } from "node:util";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure } from "../functions/adapters/dynamodb/calls.ts";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { Expression } from "../functions/adapters/dynamodb/expressions.ts";
import { headFromItem, indexAttributes } from "../functions/adapters/dynamodb/items.ts";
import { HEAD_SK, indexesFor, TABLE } from "../functions/adapters/dynamodb/table.ts";
import { LISTING_NAMES, LISTINGS_HINT, type Listings, listingsValue } from "../functions/core/listings.ts";
import { listingsSetting, regionOf, runScript, UsageError } from "./table-cli.ts";

/**
 * `npm run reindex`: gives the heads recorded while a listing was off (LISTINGS, `-c listings`) the index
 * keys of the listings now on, so those listings find them too. Run it after the deploy that turned the
 * listing on (from then on the functions write the keys themselves).
 *
 * One paged Scan of the table at a bounded rate (items read per second; the table serves the app
 * meanwhile), and per head that lacks a key of a listing on, one UpdateItem that sets only the keys it
 * lacks, on the condition that the head is still there, still lacks them and was not resolved into
 * another meanwhile: a head rewritten since keeps what its writer gave it. It leaves `rev` alone (the
 * keys are derived from fields no writer changes, so no edit in flight is disturbed). Idempotent: a
 * second run finds every head indexed and writes nothing.
 */

export interface ReindexOptions {
  /** The listings now on: their keys are what a head may lack (default: those the table has an index for). */
  readonly listings?: Listings;
  /** Most items the Scan reads per second (default 200): heads, versions and everything else alike. */
  readonly itemsPerSecond?: number;
  /** Items per Scan page (default 100, at most the rate). */
  readonly pageSize?: number;
  readonly log?: (line: string) => void;
  /** How often progress is logged, ms (default 5000; the final count always is). */
  readonly progressEveryMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ReindexReport {
  /** Items the Scan read (every kind). */
  scanned: number;
  heads: number;
  /** Heads given the keys they lacked. */
  updated: number;
  /** Heads that had every key already. */
  indexed: number;
  /** Resolved provisional heads (in no listing) and heads past their retention. */
  skipped: number;
  /** Heads rewritten, resolved or deleted between the read and the write: left as they are. */
  changed: number;
}

export const DEFAULT_ITEMS_PER_SECOND = 200;

/** The attributes a head's index keys are derived from (and the keys, to see which it has). */
const READ = [
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.ttlAttribute,
  "provider",
  "appId",
  "conversation",
  "createdAt",
  "sender",
  "resolvedId",
  ...new Set(Object.values(TABLE.indexes).flatMap((index) => [index.partitionKey, index.sortKey])),
];

export async function reindex(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: ReindexOptions,
): Promise<ReindexReport> {
  const report: ReindexReport = { scanned: 0, heads: 0, updated: 0, indexed: 0, skipped: 0, changed: 0 };
  const log = options.log ?? (() => {});
  const indexed = await tableListings(client, tableName);
  const listings = options.listings ?? indexed;
  if (listings.size === 0) {
    log(
      `LISTINGS=none: no listing is on${options.listings ? "" : ` (${tableName} has no index)`}, nothing to index`,
    );
    return report;
  }
  requireIndexes(tableName, listings, indexed);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const rate = options.itemsPerSecond ?? DEFAULT_ITEMS_PER_SECOND;
  const pageSize = Math.max(1, Math.min(options.pageSize ?? 100, rate));
  const started = now();
  let logged = started;
  const scan = new Expression();
  const projection = READ.map((name) => scan.path(name)).join(", ");
  const filter = `${scan.path(TABLE.sortKey)} = ${scan.value(HEAD_SK)}`;
  let startKey: Record<string, unknown> | undefined;
  log(`reindexing ${tableName} for LISTINGS=${listingsValue(listings)}, ${rate} items a second at most`);
  do {
    // The rate: the next page waits until the items read so far fit into the time gone by.
    const due = started + (report.scanned / rate) * 1000;
    if (due > now()) await sleep(due - now());
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: projection,
        FilterExpression: filter,
        ...scan.attributes(),
        Limit: pageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    report.scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) await indexHead(client, tableName, item, listings, now(), report);
    startKey = page.LastEvaluatedKey;
    if (startKey && now() - logged >= (options.progressEveryMs ?? 5_000)) {
      logged = now();
      log(`  ${describe(report)}`);
    }
  } while (startKey);
  log(`reindexed: ${describe(report)}`);
  return report;
}

/** One head: the keys of the listings on that it lacks, set on the condition that it still lacks them. */
async function indexHead(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  listings: Listings,
  nowMs: number,
  report: ReindexReport,
): Promise<void> {
  report.heads++;
  const expiresAt = item[TABLE.ttlAttribute];
  const expired = typeof expiresAt === "number" && expiresAt * 1000 <= nowMs;
  const wanted = Object.entries(indexAttributes(headFromItem(item), listings));
  if (expired || wanted.length === 0) {
    report.skipped++;
    return;
  }
  const missing = wanted.filter(([name]) => item[name] === undefined);
  if (missing.length === 0) {
    report.indexed++;
    return;
  }
  const e = new Expression();
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [TABLE.partitionKey]: item[TABLE.partitionKey], [TABLE.sortKey]: HEAD_SK },
        UpdateExpression: `SET ${missing.map(([name, value]) => `${e.path(name)} = ${e.value(value)}`).join(", ")}`,
        ConditionExpression: [
          `attribute_exists(${e.path(TABLE.partitionKey)})`,
          `attribute_not_exists(${e.path("resolvedId")})`,
          ...missing.map(([name]) => `attribute_not_exists(${e.path(name)})`),
        ].join(" AND "),
        ...e.attributes(),
      }),
    );
    report.updated++;
  } catch (error: unknown) {
    if (!isConditionFailure(error)) throw error;
    report.changed++;
  }
}

/** The listings a table serves: those whose index it has (a deployment's `-c listings`). */
export async function tableListings(
  client: Pick<DynamoDBDocumentClient, "send">,
  tableName: string,
): Promise<Listings> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return new Set(
    LISTING_NAMES.filter((listing) => indexesFor(new Set([listing])).every((name) => present.has(name))),
  );
}

/** The table must have the indexes of the listings on (deployed first), or the keys would index nothing. */
function requireIndexes(tableName: string, listings: Listings, indexed: Listings): void {
  const absent = indexesFor(listings).filter((name) => !indexesFor(indexed).includes(name));
  if (absent.length > 0) {
    throw new Error(
      `table ${tableName} has no ${absent.join(" or ")} index: deploy with -c listings=${listingsValue(listings)} ` +
        "first (one listing per deploy), then run this for the messages recorded before",
    );
  }
}

const describe = (r: ReindexReport): string =>
  `${r.updated} heads given their index keys, ${r.indexed} had them, ${r.skipped} left out (resolved or ` +
  `expired), ${r.changed} changed meanwhile (left as written); ${r.heads} heads in ${r.scanned} items scanned`;

const USAGE = `npm run reindex -- (--endpoint URL | --aws) [--table NAME] [--region REGION] [--listings L] [--rate N]

Gives the messages recorded while a listing was off the index keys of the listings now on (see README,
Storage: Listings). Run it after the deploy that turned the listing on. Re-runnable: it writes only what
a head lacks, on condition.

  --endpoint URL   a DynamoDB-compatible endpoint (DynamoDB Local, dynalite)
  --aws            AWS DynamoDB (region from --region or AWS_REGION, credentials as the AWS SDK finds them)
  --table NAME     the table (default: TABLE_NAME or im-edit; in AWS the stack's TableName output)
  --listings L     the listings now on: ${LISTINGS_HINT} (default: LISTINGS, else those the table has an index for)
  --rate N         items the Scan reads per second at most (default ${DEFAULT_ITEMS_PER_SECOND})`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      endpoint: { type: "string" },
      aws: { type: "boolean" },
      region: { type: "string" },
      table: { type: "string" },
      listings: { type: "string" },
      rate: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = process.env;
  if ((values.endpoint === undefined) === (values.aws !== true)) {
    throw new UsageError("give the table's place: --endpoint URL or --aws");
  }
  const listings =
    values.listings !== undefined
      ? listingsSetting(values.listings, "--listings")
      : listingsSetting(env.LISTINGS, "LISTINGS");
  const rate = values.rate === undefined ? DEFAULT_ITEMS_PER_SECOND : Number(values.rate);
  if (!Number.isInteger(rate) || rate < 1)
    throw new UsageError(`--rate: ${values.rate} is not a whole number above 0`);
  const region = regionOf(values.region, env, values.aws === true);
  const table = values.table ?? env.TABLE_NAME ?? "im-edit";
  const client = createDocumentClient({
    region,
    ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
  });
  try {
    await reindex(client, table, {
      ...(listings !== undefined ? { listings } : {}),
      itemsPerSecond: rate,
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } finally {
    client.destroy();
  }
}

runScript(import.meta.url, "reindex", USAGE, main);
