import type { Listing, Listings } from "../../core/listings.ts";

/**
 * The table layout (v2): the one source of truth for keys, item kinds and indexes, used by the DynamoDB
 * adapter, the local stores (dynalite, DynamoDB Local) and the CDK stack (`infra/constructs/message-table.ts`).
 *
 * One table; a message is one partition, and ONE item until its first change:
 *
 * | item              | pk           | sk                   | holds                                              |
 * |-------------------|--------------|----------------------|----------------------------------------------------|
 * | message head      | `M#<id>`     | `H`                  | the domain head, version 1 as `first` (compact), the lease and the edit intent; `rev` guards every write |
 * | version n ≥ 2     | `M#<id>`     | `V#<n, 10 digits>`   | immutable once put (attribute_not_exists): the serialization point of every change after the first |
 * | Idempotency-Key   | `IDEM#<key>` | `IDEM`               | the request hash, state and domain result; TTL at its expiry |
 * | bulk job          | `JOBS`       | `<job id>`           | the Job's fields; `rev` guards every write; no TTL, no index attribute (jobs.ts) |
 * | active job marker | `JOBS#ACTIVE` | `<job id>`          | `rev`, `at` only: one per queued or running job, so the active set is read without the finished jobs (jobs.ts) |
 *
 * The head stores no `id` (it is the pk after `M#`), and `first` omits what equals the head (its content
 * and hash while the head still shows them, `at` = createdAt, `eventAt`, `actor` = sender, `version`).
 * A version item stores no `version` (it is in the sk). Versions of a message sort after its head
 * (`H` < `V#…`), so one Query with sk BETWEEN `H` AND `V#\uffff` reads version 1 and the rest in order.
 *
 * Two global secondary indexes, written only on heads (sparse; a resolved provisional head leaves both),
 * with the few attributes a listing filters on; a page then reads its heads with one BatchGetItem:
 *
 * | index            | partition key                                   | sort key                 | projects            | serves |
 * |------------------|-------------------------------------------------|--------------------------|---------------------|--------|
 * | `byConversation` | `cv` = provider#appId#conversation              | `ts` = createdAt#id      | sender              | one conversation, newest first (sender filter) |
 * | `byApp`          | `ap` = provider#appId#shard(sender, else id)    | `ts` (the same attribute) | sender, lookupKey  | the whole app (16 shards merged), one sender (its shard, filtered), partial natural keys |
 *
 * A short text message is one PutItem of under 1 KB plus one entry in each index: 3 WRU; 2 with one listing
 * off, 1 with both (LISTINGS, INDEX_LISTINGS below). Exact natural keys need no index (the id is derived
 * from them); partial ones are found in `byApp` by send time.
 *
 * `expiresAt` (epoch seconds) is the TTL attribute for optional retention; DynamoDB deletes expired
 * items in AWS, and code treats them as absent everywhere (the local emulators have no TTL).
 */
export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  indexes: {
    byConversation: {
      partitionKey: "cv",
      sortKey: "ts",
      projection: { type: "INCLUDE", attributes: ["sender"] },
    },
    byApp: {
      partitionKey: "ap",
      sortKey: "ts",
      projection: { type: "INCLUDE", attributes: ["sender", "lookupKey"] },
    },
  },
} as const;

export type IndexName = keyof typeof TABLE.indexes;

/**
 * The listing each index serves (core/listings.ts, LISTINGS / `-c listings`): with its listing off an
 * index is not created by the stack and heads carry none of its keys (`ts`, shared, only while one is on).
 */
export const INDEX_LISTINGS: Readonly<Record<IndexName, Listing>> = {
  byConversation: "conversation",
  byApp: "app",
};

/** The indexes a deployment with these listings keeps, in TABLE order. */
export const indexesFor = (listings: Listings): IndexName[] =>
  (Object.keys(TABLE.indexes) as IndexName[]).filter((name) => listings.has(INDEX_LISTINGS[name]));

/** `byApp` spreads one app over this many partition keys, so a busy app has no hot partition. */
export const APP_SHARDS = 16;

export const MESSAGE_PREFIX = "M#";
export const HEAD_SK = "H";
export const VERSION_PREFIX = "V#";
/** The last possible version sort key: versions (and the head before them) lie in [HEAD_SK, VERSIONS_END]. */
export const VERSIONS_END = `${VERSION_PREFIX}\uffff`;
export const IDEMPOTENCY_PREFIX = "IDEM#";
export const IDEMPOTENCY_SK = "IDEM";
/** Every job in one partition, sorted by id (ids sort by creation): jobs are few. */
export const JOBS_PK = "JOBS";
/** A marker per queued or running job: the active set, apart from the jobs kept forever. */
export const ACTIVE_JOBS_PK = "JOBS#ACTIVE";
/** DynamoDB's limit for a sort key's value. */
export const MAX_SORT_KEY_BYTES = 1024;

export const messagePk = (id: string): string => `${MESSAGE_PREFIX}${id}`;
export const versionSk = (version: number): string => `${VERSION_PREFIX}${String(version).padStart(10, "0")}`;
export const idempotencyPk = (key: string): string => `${IDEMPOTENCY_PREFIX}${key}`;

/**
 * The layout before v2, for the migration helper: a head (sk `H`) projected ALL into four indexes,
 * every version an item (version 1 included, sk `V#0000000001`), the lease and the intent items of
 * their own under the message's partition, idempotency records storing an HTTP `response`.
 */
export const LAYOUT_V1 = {
  headSk: "H",
  versionPrefix: "V#",
  leaseSk: "LEASE",
  intentSk: "INTENT",
  idempotencySk: "IDEM",
  /** The lease item: `owner`, `leaseUntil` (epoch ms). The intent item: the EditIntent's fields. */
  leaseAttributes: { owner: "owner", until: "leaseUntil" },
  /** Idempotency records kept the rendered HTTP answer here (v2: a domain `result`). */
  idempotencyResponseAttribute: "response",
  /** Index key attributes on v1 heads (all four projected ALL); a v2 head must not carry them. */
  indexes: {
    byKey: { partitionKey: "keyPk", sortKey: "keySk" },
    byConversation: { partitionKey: "convPk", sortKey: "convSk" },
    bySender: { partitionKey: "senderPk", sortKey: "senderSk" },
    byApp: { partitionKey: "appPk", sortKey: "appSk" },
  },
} as const;

/** CreateTable input for local stores (dynalite, DynamoDB Local); the CDK stack builds the same from TABLE. */
export function createTableInput(tableName: string) {
  const indexNames = Object.keys(TABLE.indexes) as IndexName[];
  const keyAttributes = [
    ...new Set([
      TABLE.partitionKey,
      TABLE.sortKey,
      ...indexNames.flatMap((name) => [TABLE.indexes[name].partitionKey, TABLE.indexes[name].sortKey]),
    ]),
  ];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" as const },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: indexNames.map((name) => {
      const { partitionKey, sortKey, projection } = TABLE.indexes[name];
      return {
        IndexName: name,
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" as const },
          { AttributeName: sortKey, KeyType: "RANGE" as const },
        ],
        Projection: { ProjectionType: projection.type, NonKeyAttributes: [...projection.attributes] },
      };
    }),
  };
}
