/**
 * The table layout: the one source of truth for key schema and indexes, used by the DynamoDB adapter,
 * the local stack (dynalite) and the CDK stack.
 *
 * One table, one partition per message:
 *
 * | item            | pk        | sk             | notes                                                   |
 * |-----------------|-----------|----------------|---------------------------------------------------------|
 * | message head    | `M#<id>`  | `H`            | newest state; a cache of the newest version; `rev` guards writes |
 * | version n       | `M#<id>`  | `V#<n, 10 digits>` | immutable, put with attribute_not_exists: the serialization point |
 *
 * (The editor adds lease, intent and idempotency items under the same or their own partitions.)
 *
 * Global secondary indexes, written only on head items (sparse), projecting all attributes so a page
 * needs no second read:
 *
 * | index            | partition key                        | sort key          | serves                          |
 * |------------------|--------------------------------------|-------------------|---------------------------------|
 * | `byKey`          | `keyPk` = provider#appId#lookupKey   | `keySk` = id      | natural-key lookup (full or partial key) |
 * | `byConversation` | `convPk` = provider#appId#conversation | `convSk` = createdAt#id | one conversation, newest first |
 * | `bySender`       | `senderPk` = provider#appId#sender   | `senderSk` = createdAt#id | one sender's messages   |
 * | `byApp`          | `appPk` = provider#appId#shard(0-15) | `appSk` = createdAt#id | the whole app, newest first |
 *
 * `byApp` spreads one app's writes over 16 partition keys (by id) so a busy app has no hot partition;
 * a page queries the 16 shards and merges them. Conversations and senders are natural spreads.
 *
 * `expiresAt` (epoch seconds) is the TTL attribute for optional retention; DynamoDB deletes expired
 * items in AWS, and code treats them as absent everywhere (dynalite has no TTL).
 */
export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  indexes: {
    byKey: { partitionKey: "keyPk", sortKey: "keySk" },
    byConversation: { partitionKey: "convPk", sortKey: "convSk" },
    bySender: { partitionKey: "senderPk", sortKey: "senderSk" },
    byApp: { partitionKey: "appPk", sortKey: "appSk" },
  },
} as const;

export type IndexName = keyof typeof TABLE.indexes;

export const APP_SHARDS = 16;

/** CreateTable input for local stores (dynalite, DynamoDB Local); the CDK stack builds the same from TABLE. */
export function createTableInput(tableName: string) {
  const indexNames = Object.keys(TABLE.indexes) as IndexName[];
  const keyAttributes = [
    TABLE.partitionKey,
    TABLE.sortKey,
    ...indexNames.flatMap((name) => [TABLE.indexes[name].partitionKey, TABLE.indexes[name].sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" as const },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: indexNames.map((name) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: TABLE.indexes[name].partitionKey, KeyType: "HASH" as const },
        { AttributeName: TABLE.indexes[name].sortKey, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}
