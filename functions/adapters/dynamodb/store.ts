import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { MessageHead, ProviderName, Version } from "../../core/model.ts";
import {
  type EditIntent,
  type IdempotencyRecord,
  type IntentChange,
  type IntentState,
  InvalidPageTokenError,
  type ListQuery,
  type MessageStore,
  type Page,
  type PageRequest,
  type StoredResponse,
} from "../../core/store.ts";
import { conditionally, guard } from "./calls.ts";
import { APP_SHARDS, type IndexName, TABLE } from "./table.ts";

const HEAD_SK = "H";
const LEASE_SK = "LEASE";
const INTENT_SK = "INTENT";
const IDEMPOTENCY_SK = "IDEM";
/** Leases and intents outlive their deadlines a while (for diagnosis), then TTL removes them. */
const LEASE_TTL_SLACK_SECONDS = 3_600;
const INTENT_TTL_SLACK_SECONDS = 7 * 86_400;
const VERSION_PREFIX = "V#";
/** Attributes that exist only for DynamoDB (keys, index keys, TTL); stripped before returning domain objects. */
const KEY_ATTRIBUTES = new Set<string>([
  TABLE.partitionKey,
  TABLE.sortKey,
  ...Object.values(TABLE.indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
]);
const STORAGE_ATTRIBUTES = new Set<string>([...KEY_ATTRIBUTES, TABLE.ttlAttribute]);

const messagePk = (id: string): string => `M#${id}`;
const idempotencyPk = (key: string): string => `IDEM#${key}`;
const ttlSeconds = (ms: number, slackSeconds = 0): number => Math.ceil(ms / 1000) + slackSeconds;
const versionSk = (version: number): string => `${VERSION_PREFIX}${String(version).padStart(10, "0")}`;
const scope = (provider: ProviderName, appId: string): string => `${provider}#${appId}`;
/** Most items one filtered list request examines (ARCHITECTURE: a page never reads a whole partition). */
export const MAX_EXAMINED_PER_PAGE = 1_000;
/** How many items a filtered list reads per query call (at least the page's remaining size). */
const FILTERED_CHUNK = 200;

/** The id's last character picks one of 16 `byApp` shards: ids are hashes, so shards fill evenly. */
export function appShard(id: string): number {
  return id.charCodeAt(id.length - 1) % APP_SHARDS;
}

export interface DynamoStoreOptions {
  /** Optional retention: items get `expiresAt` = message time + this many days (DynamoDB TTL). */
  readonly retentionDays?: number;
  readonly now?: () => Date;
}

export class DynamoMessageStore implements MessageStore {
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async getHead(id: string): Promise<MessageHead | undefined> {
    const { Item } = await guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: messagePk(id), sk: HEAD_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return Item && !this.expired(Item) ? (strip(Item) as unknown as MessageHead) : undefined;
  }

  async putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    const item = {
      ...head,
      ...headIndexAttributes(head),
      ...this.expiry(head.createdAt),
      pk: messagePk(head.id),
      sk: HEAD_SK,
    };
    return expectedRev === undefined
      ? this.conditionalPut(item, "attribute_not_exists(pk)")
      : this.conditionalPut(item, "rev = :rev", { ":rev": expectedRev });
  }

  async putVersion(id: string, version: Version): Promise<boolean> {
    return this.conditionalPut(
      { ...version, ...this.expiry(version.at), pk: messagePk(id), sk: versionSk(version.version) },
      "attribute_not_exists(pk)",
    );
  }

  async recentVersions(id: string, limit: number): Promise<Version[]> {
    const { Items } = await guard(
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
          ExpressionAttributeValues: { ":pk": messagePk(id), ":v": VERSION_PREFIX },
          ScanIndexForward: false,
          Limit: limit,
          ConsistentRead: true,
        }),
      ),
    );
    return (Items ?? []).map((item) => strip(item) as unknown as Version);
  }

  async listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    const result = await guard(
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
          ExpressionAttributeValues: { ":pk": messagePk(id), ":v": VERSION_PREFIX },
          ScanIndexForward: true,
          Limit: page.limit,
          ConsistentRead: true,
          ...startKey(page.nextToken, TABLE.partitionKey, messagePk(id), {
            attribute: TABLE.sortKey,
            lo: VERSION_PREFIX,
            hi: `${VERSION_PREFIX}\uffff`,
          }),
        }),
      ),
    );
    return {
      items: (result.Items ?? []).map((item) => strip(item) as unknown as Version),
      ...tokenFrom(result.LastEvaluatedKey),
    };
  }

  async findByKey(provider: ProviderName, appId: string, lookupKey: string): Promise<MessageHead[]> {
    const index = TABLE.indexes.byKey;
    const heads: MessageHead[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const result = await guard(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: "byKey",
            KeyConditionExpression: `${index.partitionKey} = :pk`,
            ExpressionAttributeValues: { ":pk": `${scope(provider, appId)}#${lookupKey}` },
            ExclusiveStartKey: exclusiveStartKey,
          }),
        ),
      );
      for (const item of result.Items ?? [])
        if (!this.expired(item)) heads.push(strip(item) as unknown as MessageHead);
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return heads;
  }

  async list(query: ListQuery): Promise<Page<MessageHead>> {
    const prefix = scope(query.provider, query.appId);
    if (query.conversation !== undefined) {
      return this.queryIndex("byConversation", `${prefix}#${query.conversation}`, query, query.sender);
    }
    if (query.sender !== undefined) return this.queryIndex("bySender", `${prefix}#${query.sender}`, query);
    return this.listApp(prefix, query);
  }

  /**
   * One partition of a time-sorted index, newest first; `sender` narrows a conversation. A filter applies
   * after DynamoDB's Limit, so a filtered page reads on until it is full, but never examines more than
   * MAX_EXAMINED_PER_PAGE items: a sender with few messages in a long conversation gets a short (even
   * empty) page and a `nextToken` to continue, not a read of the whole partition in one request.
   */
  private async queryIndex(
    indexName: IndexName,
    partition: string,
    query: ListQuery,
    sender?: string,
  ): Promise<Page<MessageHead>> {
    const index = TABLE.indexes[indexName];
    const items: MessageHead[] = [];
    const bounds = timeBounds(query);
    if (bounds[":lo"] > bounds[":hi"]) return { items: [] };
    let exclusiveStartKey = startKey(query.nextToken, index.partitionKey, partition, {
      attribute: index.sortKey,
      lo: bounds[":lo"],
      hi: bounds[":hi"],
    }).ExclusiveStartKey;
    let examined = 0;
    while (items.length < query.limit && examined < MAX_EXAMINED_PER_PAGE) {
      const wanted = query.limit - items.length;
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} BETWEEN :lo AND :hi`,
        ExpressionAttributeValues: {
          ":pk": partition,
          ...bounds,
          ...(sender !== undefined ? { ":sender": sender } : {}),
        },
        ...(sender !== undefined ? { FilterExpression: "sender = :sender" } : {}),
        ScanIndexForward: false,
        // Filtered: read in chunks (a page of sparse matches in few calls), bounded by what is left to examine.
        Limit: Math.min(
          MAX_EXAMINED_PER_PAGE - examined,
          sender !== undefined ? Math.max(wanted, FILTERED_CHUNK) : wanted,
        ),
        ExclusiveStartKey: exclusiveStartKey,
      };
      const result = await guard(this.client.send(new QueryCommand(input)));
      examined += result.ScannedCount ?? result.Items?.length ?? 0;
      const found = result.Items ?? [];
      for (const [position, item] of found.entries()) {
        if (this.expired(item)) continue;
        items.push(strip(item) as unknown as MessageHead);
        if (items.length === query.limit && (position < found.length - 1 || result.LastEvaluatedKey)) {
          // Full before this chunk ended: continue right after the last item returned.
          return { items, ...tokenFrom(indexKeyOf(item, index)) };
        }
      }
      exclusiveStartKey = result.LastEvaluatedKey;
      if (!exclusiveStartKey) break;
    }
    return { items, ...tokenFrom(exclusiveStartKey) };
  }

  /** The whole app: query every shard below the cursor, merge newest first, cut at the page size. */
  private async listApp(prefix: string, query: ListQuery): Promise<Page<MessageHead>> {
    const index = TABLE.indexes.byApp;
    const cursor = query.nextToken === undefined ? undefined : decodeCursor(query.nextToken);
    const bounds = timeBounds(query);
    const hi = cursor !== undefined && cursor < bounds[":hi"] ? cursor : bounds[":hi"];
    // BETWEEN with its bounds reversed is a ValidationException: such a range holds nothing.
    if (bounds[":lo"] > hi) return { items: [] };
    const shards = await Promise.all(
      Array.from({ length: APP_SHARDS }, (_, shard) =>
        guard(
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: "byApp",
              KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} BETWEEN :lo AND :hi`,
              ExpressionAttributeValues: { ":pk": `${prefix}#${shard}`, ":lo": bounds[":lo"], ":hi": hi },
              ScanIndexForward: false,
              // One extra per shard: the cursor item itself comes back (BETWEEN is inclusive) and is dropped.
              Limit: query.limit + 1,
            }),
          ),
        ),
      ),
    );
    const merged = shards
      .flatMap((result) => result.Items ?? [])
      .filter((item) => cursor === undefined || String(item[index.sortKey]) < cursor)
      .filter((item) => !this.expired(item))
      .sort((a, b) => (String(a[index.sortKey]) < String(b[index.sortKey]) ? 1 : -1));
    const page = merged.slice(0, query.limit);
    const more =
      merged.length > query.limit || shards.some((result) => result.LastEvaluatedKey !== undefined);
    const last = page.at(-1);
    return {
      items: page.map((item) => strip(item) as unknown as MessageHead),
      ...(more && last ? { nextToken: encodeToken({ c: String(last[index.sortKey]) }) } : {}),
    };
  }

  async getVersion(id: string, version: number): Promise<Version | undefined> {
    const { Item } = await guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: messagePk(id), sk: versionSk(version) },
          ConsistentRead: true,
        }),
      ),
    );
    return Item && !this.expired(Item) ? (strip(Item) as unknown as Version) : undefined;
  }

  async replaceVersion(id: string, version: Version): Promise<boolean> {
    return this.conditionalPut(
      { ...version, ...this.expiry(version.at), pk: messagePk(id), sk: versionSk(version.version) },
      "attribute_exists(pk)",
    );
  }

  async acquireLease(id: string, owner: string, untilMs: number, nowMs: number): Promise<boolean> {
    return this.conditionalPut(
      leaseItem(id, owner, untilMs),
      "attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner",
      { ":now": nowMs, ":owner": owner },
      { "#owner": "owner" },
    );
  }

  async extendLease(id: string, owner: string, untilMs: number): Promise<boolean> {
    return this.conditionalPut(
      leaseItem(id, owner, untilMs),
      "#owner = :owner",
      { ":owner": owner },
      { "#owner": "owner" },
    );
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.conditionalDelete(
      { pk: messagePk(id), sk: LEASE_SK },
      "#owner = :owner",
      { ":owner": owner },
      { "#owner": "owner" },
    );
  }

  async getIntent(id: string): Promise<EditIntent | undefined> {
    const { Item } = await guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: messagePk(id), sk: INTENT_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? (strip(Item) as unknown as EditIntent) : undefined;
  }

  async putIntent(id: string, intent: EditIntent): Promise<void> {
    await guard(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...intent,
            pk: messagePk(id),
            sk: INTENT_SK,
            [TABLE.ttlAttribute]: ttlSeconds(intent.deadline, INTENT_TTL_SLACK_SECONDS),
          },
        }),
      ),
    );
  }

  async updateIntent(
    id: string,
    intentId: string,
    change: IntentChange,
    from?: IntentState,
  ): Promise<boolean> {
    const entries = Object.entries(change).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return true;
    return conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: messagePk(id), sk: INTENT_SK },
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(", ")}`,
          ConditionExpression: `intentId = :intentId${from !== undefined ? " AND #state = :from" : ""}`,
          ExpressionAttributeNames: {
            ...Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
            ...(from !== undefined ? { "#state": "state" } : {}),
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
            ":intentId": intentId,
            ...(from !== undefined ? { ":from": from } : {}),
          },
        }),
      ),
    );
  }

  async deleteIntent(
    id: string,
    intentId: string,
    options: { evenIfApplied?: boolean } = {},
  ): Promise<boolean> {
    return conditionally(
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: messagePk(id), sk: INTENT_SK },
          ...(options.evenIfApplied
            ? {
                ConditionExpression: "intentId = :intentId",
                ExpressionAttributeValues: { ":intentId": intentId },
              }
            : {
                ConditionExpression: "intentId = :intentId AND #state <> :applied",
                ExpressionAttributeNames: { "#state": "state" },
                ExpressionAttributeValues: { ":intentId": intentId, ":applied": "applied" },
              }),
        }),
      ),
    );
  }

  async claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    return this.conditionalPut(
      {
        ...record,
        pk: idempotencyPk(record.key),
        sk: IDEMPOTENCY_SK,
        [TABLE.ttlAttribute]: ttlSeconds(record.expiresAtMs),
      },
      "attribute_not_exists(pk) OR expiresAtMs < :now",
      { ":now": nowMs },
    );
  }

  async getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const { Item } = await guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: idempotencyPk(key), sk: IDEMPOTENCY_SK },
          ConsistentRead: true,
        }),
      ),
    );
    const record = Item ? (strip(Item) as unknown as IdempotencyRecord) : undefined;
    return record && record.expiresAtMs > nowMs ? record : undefined;
  }

  async completeIdempotencyKey(
    key: string,
    requestHash: string,
    response: StoredResponse,
    expiresAtMs: number,
  ): Promise<void> {
    // A key released or reclaimed meanwhile keeps its new owner's record.
    await conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: idempotencyPk(key), sk: IDEMPOTENCY_SK },
          UpdateExpression: "SET #state = :done, #response = :response, expiresAtMs = :expires, #ttl = :ttl",
          ConditionExpression: "requestHash = :hash",
          ExpressionAttributeNames: {
            "#state": "state",
            "#response": "response",
            "#ttl": TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ":done": "done",
            ":response": response,
            ":hash": requestHash,
            ":expires": expiresAtMs,
            ":ttl": ttlSeconds(expiresAtMs),
          },
        }),
      ),
    );
  }

  async releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    await this.conditionalDelete({ pk: idempotencyPk(key), sk: IDEMPOTENCY_SK }, "requestHash = :hash", {
      ":hash": requestHash,
    });
  }

  async holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    return conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: idempotencyPk(key), sk: IDEMPOTENCY_SK },
          UpdateExpression: "SET expiresAtMs = :expires, #ttl = :ttl",
          ConditionExpression: "requestHash = :hash AND #state = :pending",
          ExpressionAttributeNames: { "#state": "state", "#ttl": TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ":hash": requestHash,
            ":pending": "pending",
            ":expires": expiresAtMs,
            ":ttl": ttlSeconds(expiresAtMs),
          },
        }),
      ),
    );
  }

  async replaceIdempotencyResponse(key: string, response: StoredResponse): Promise<void> {
    await conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: idempotencyPk(key), sk: IDEMPOTENCY_SK },
          UpdateExpression: "SET #response = :response",
          ConditionExpression: "attribute_exists(pk) AND #state = :done",
          ExpressionAttributeNames: { "#response": "response", "#state": "state" },
          ExpressionAttributeValues: { ":response": response, ":done": "done" },
        }),
      ),
    );
  }

  private conditionalPut(
    item: Record<string, unknown>,
    condition: string,
    values?: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<boolean> {
    return conditionally(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
          ...(names ? { ExpressionAttributeNames: names } : {}),
        }),
      ),
    );
  }

  /** Deletes only if the condition holds; someone else's item (a newer lease, intent or key) stays. */
  private async conditionalDelete(
    key: Record<string, string>,
    condition: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<void> {
    await conditionally(
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
        }),
      ),
    );
  }

  /** TTL for retention: each item expires RETENTION_DAYS after its own time (a head: the message's send time). */
  private expiry(from: string): Record<string, number> {
    const days = this.options.retentionDays;
    if (days === undefined) return {};
    return { [TABLE.ttlAttribute]: Math.floor(Date.parse(from) / 1000) + days * 86_400 };
  }

  private expired(item: Record<string, unknown>): boolean {
    const expiresAt = item[TABLE.ttlAttribute];
    return typeof expiresAt === "number" && expiresAt * 1000 <= this.now().getTime();
  }
}

function leaseItem(id: string, owner: string, untilMs: number): Record<string, unknown> {
  return {
    pk: messagePk(id),
    sk: LEASE_SK,
    owner,
    leaseUntil: untilMs,
    [TABLE.ttlAttribute]: ttlSeconds(untilMs, LEASE_TTL_SLACK_SECONDS),
  };
}

/** Index attributes of a head. Resolved provisional heads leave every index: they only redirect. */
function headIndexAttributes(head: MessageHead): Record<string, string> {
  if (head.resolvedId !== undefined) return {};
  const prefix = scope(head.provider, head.appId);
  const timeKey = `${head.createdAt}#${head.id}`;
  const { byKey, byConversation, bySender, byApp } = TABLE.indexes;
  return {
    ...(head.lookupKey !== undefined
      ? { [byKey.partitionKey]: `${prefix}#${head.lookupKey}`, [byKey.sortKey]: head.id }
      : {}),
    [byConversation.partitionKey]: `${prefix}#${head.conversation}`,
    [byConversation.sortKey]: timeKey,
    ...(head.sender !== undefined
      ? { [bySender.partitionKey]: `${prefix}#${head.sender}`, [bySender.sortKey]: timeKey }
      : {}),
    [byApp.partitionKey]: `${prefix}#${appShard(head.id)}`,
    [byApp.sortKey]: timeKey,
  };
}

/** The key of an index item, as DynamoDB's LastEvaluatedKey would give it: table key plus index key. */
function indexKeyOf(
  item: Record<string, unknown>,
  index: { readonly partitionKey: string; readonly sortKey: string },
): Record<string, unknown> {
  return Object.fromEntries(
    [TABLE.partitionKey, TABLE.sortKey, index.partitionKey, index.sortKey].map((name) => [name, item[name]]),
  );
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !STORAGE_ATTRIBUTES.has(name)));
}

/**
 * Sort-key bounds for `since`/`until` (inclusive); sort keys are `<ISO time>#<id>`. Open ends are the
 * extremes of the key space (a `since` in year 9999 must not land above a made-up upper bound).
 */
function timeBounds(query: ListQuery): { ":lo": string; ":hi": string } {
  return { ":lo": query.since ?? "0", ":hi": `${query.until ?? "\uffff"}#\uffff` };
}

function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodeToken(token: string | undefined): Record<string, unknown> | undefined {
  if (token === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new InvalidPageTokenError();
    for (const field of Object.values(value))
      if (typeof field !== "string") throw new InvalidPageTokenError();
    return value as Record<string, unknown>;
  } catch {
    throw new InvalidPageTokenError();
  }
}

function decodeCursor(token: string): string {
  const value = decodeToken(token);
  if (typeof value?.c !== "string" || value.c === "" || Buffer.byteLength(value.c) > MAX_KEY_BYTES)
    throw new InvalidPageTokenError();
  return value.c;
}

/** DynamoDB's limit for a sort key (partition keys allow 2048): no token value may exceed it. */
const MAX_KEY_BYTES = 1024;

/**
 * A page token is a LastEvaluatedKey we issued. One from another partition, with other attributes than
 * the query's key (table key plus index key), or positioned outside the query's sort-key range is
 * refused (400), never passed on: DynamoDB would answer ValidationException, a 5xx.
 */
function startKey(
  token: string | undefined,
  partitionAttribute: string,
  partition: string,
  sort: { readonly attribute: string; readonly lo: string; readonly hi: string },
): { ExclusiveStartKey?: Record<string, unknown> } {
  const key = decodeToken(token);
  if (key === undefined) return {};
  if (key[partitionAttribute] !== partition) throw new InvalidPageTokenError();
  const expected = new Set([TABLE.partitionKey, TABLE.sortKey, partitionAttribute, sort.attribute]);
  const names = Object.keys(key);
  if (names.length !== expected.size || !names.every((name) => expected.has(name)))
    throw new InvalidPageTokenError();
  if (!names.every((name) => Buffer.byteLength(String(key[name])) <= MAX_KEY_BYTES))
    throw new InvalidPageTokenError();
  const position = String(key[sort.attribute]);
  if (position < sort.lo || position > sort.hi) throw new InvalidPageTokenError();
  return { ExclusiveStartKey: key };
}

const tokenFrom = (key: Record<string, unknown> | undefined) => (key ? { nextToken: encodeToken(key) } : {});
