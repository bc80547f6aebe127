import type { MessageHead } from "../../core/model.ts";
import { type KeyQuery, KeyQueryTooBroadError, type ListQuery, type Page } from "../../core/store.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import { appShard, headFromItem } from "./items.ts";
import { APP_SHARDS, HEAD_SK, type IndexName, TABLE } from "./table.ts";
import { decodeCursor, encodeToken, startKey, timeBounds, tokenFrom } from "./tokens.ts";

type Item = Record<string, unknown>;

/** Most index entries one filtered list page (or one partial-key lookup per shard) examines. */
export const MAX_EXAMINED_PER_PAGE = 1_000;
/** How many entries a filtered list reads per query call (at least the page's remaining size). */
const FILTERED_CHUNK = 200;

/**
 * Listings and partial natural keys, from the two sparse indexes (table.ts). The indexes hold keys and
 * the attributes filters need; a page's heads are then read with one consistent BatchGetItem, in page
 * order. Calls per page: one Query (a conversation, a sender; more only while a sparse filter has not
 * filled the page, bounded by MAX_EXAMINED_PER_PAGE), or 16 in parallel (the whole app), plus 1 BatchGetItem.
 */
export class DynamoListing {
  constructor(private readonly context: StoreContext) {}

  async list(query: ListQuery): Promise<Page<MessageHead>> {
    const scope = `${query.provider}#${query.appId}`;
    if (query.conversation !== undefined) {
      return this.partitionPage("byConversation", `${scope}#${query.conversation}`, query, query.sender);
    }
    if (query.sender !== undefined) {
      return this.partitionPage("byApp", `${scope}#${appShard(query.sender)}`, query, query.sender);
    }
    return this.appPage(scope, query);
  }

  /**
   * Heads with this natural-key entry. Send-time bounds (the key carries them) narrow each `byApp` shard
   * to a tiny range: the sender's shard when known, else all 16 in parallel. A sender alone is read
   * newest first, at most MAX_EXAMINED_PER_PAGE entries; beyond that, or with neither hint, the key is
   * too partial to be found in one bounded read (KeyQueryTooBroadError).
   */
  async findByKey(query: KeyQuery): Promise<MessageHead[]> {
    if (query.sentBetween === undefined && query.sender === undefined) throw new KeyQueryTooBroadError();
    const bounds = query.sentBetween
      ? timeBounds({ since: query.sentBetween[0], until: query.sentBetween[1] })
      : timeBounds({});
    if (bounds.lo > bounds.hi) return [];
    const scope = `${query.provider}#${query.appId}`;
    const shards =
      query.sender !== undefined
        ? [appShard(query.sender)]
        : Array.from({ length: APP_SHARDS }, (_, shard) => shard);
    const found = await Promise.all(
      shards.map((shard) => this.entriesWithKey(`${scope}#${shard}`, bounds, query)),
    );
    return this.heads(
      "findByKey",
      found.flat(),
      (head) =>
        head.lookupKey === query.lookupKey && (query.sender === undefined || head.sender === query.sender),
    );
  }

  private async entriesWithKey(
    partition: string,
    bounds: { lo: string; hi: string },
    query: KeyQuery,
  ): Promise<Item[]> {
    const index = TABLE.indexes.byApp;
    const expression = new Expression();
    const keyCondition = `${expression.path(index.partitionKey)} = ${expression.value(partition)} AND ${expression.path(index.sortKey)} BETWEEN ${expression.value(bounds.lo)} AND ${expression.value(bounds.hi)}`;
    const filter = [
      `${expression.path("lookupKey")} = ${expression.value(query.lookupKey)}`,
      ...(query.sender !== undefined
        ? [`${expression.path("sender")} = ${expression.value(query.sender)}`]
        : []),
    ].join(" AND ");
    const entries: Item[] = [];
    let examined = 0;
    let exclusiveStartKey: Item | undefined;
    do {
      if (examined >= MAX_EXAMINED_PER_PAGE) throw new KeyQueryTooBroadError();
      const result = await this.context.calls.query("findByKey", {
        IndexName: "byApp",
        KeyConditionExpression: keyCondition,
        FilterExpression: filter,
        ...expression.attributes(),
        ScanIndexForward: false,
        Limit: MAX_EXAMINED_PER_PAGE - examined,
        ExclusiveStartKey: exclusiveStartKey,
      });
      examined += result.ScannedCount ?? result.Items?.length ?? 0;
      entries.push(...(result.Items ?? []));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return entries;
  }

  /**
   * One partition of a time-sorted index, newest first; `sender` filters it. A filter applies after
   * DynamoDB's Limit, so a filtered page reads on until it is full, but never examines more than
   * MAX_EXAMINED_PER_PAGE entries: a sender with few messages in a long conversation gets a short (even
   * empty) page and a `nextToken` to continue, not a read of the whole partition in one request.
   */
  private async partitionPage(
    indexName: IndexName,
    partition: string,
    query: ListQuery,
    sender: string | undefined,
  ): Promise<Page<MessageHead>> {
    const index = TABLE.indexes[indexName];
    const bounds = timeBounds(query);
    if (bounds.lo > bounds.hi) return { items: [] };
    let exclusiveStartKey = startKey(query.nextToken, index.partitionKey, partition, {
      attribute: index.sortKey,
      ...bounds,
    }).ExclusiveStartKey;
    const expression = new Expression();
    const keyCondition = `${expression.path(index.partitionKey)} = ${expression.value(partition)} AND ${expression.path(index.sortKey)} BETWEEN ${expression.value(bounds.lo)} AND ${expression.value(bounds.hi)}`;
    const filter =
      sender !== undefined ? `${expression.path("sender")} = ${expression.value(sender)}` : undefined;
    const entries: Item[] = [];
    let examined = 0;
    let next: Item | undefined;
    while (entries.length < query.limit && examined < MAX_EXAMINED_PER_PAGE) {
      const wanted = query.limit - entries.length;
      const result = await this.context.calls.query("list", {
        IndexName: indexName,
        KeyConditionExpression: keyCondition,
        ...(filter !== undefined ? { FilterExpression: filter } : {}),
        ...expression.attributes(),
        ScanIndexForward: false,
        // Filtered: read in chunks (a page of sparse matches in few calls), bounded by what is left to examine.
        Limit: Math.min(
          MAX_EXAMINED_PER_PAGE - examined,
          filter !== undefined ? Math.max(wanted, FILTERED_CHUNK) : wanted,
        ),
        ExclusiveStartKey: exclusiveStartKey,
      });
      examined += result.ScannedCount ?? result.Items?.length ?? 0;
      const found = result.Items ?? [];
      const room = query.limit - entries.length;
      entries.push(...found.slice(0, room));
      if (found.length > room || (found.length === room && result.LastEvaluatedKey)) {
        // Full before this chunk ended: continue right after the last entry taken.
        next = indexKeyOf(entries.at(-1) as Item, index);
        break;
      }
      next = result.LastEvaluatedKey;
      exclusiveStartKey = next;
      if (!exclusiveStartKey) break;
    }
    const heads = await this.heads("list", entries, (head) => sender === undefined || head.sender === sender);
    return { items: heads, ...tokenFrom(next) };
  }

  /** The whole app: every shard below the cursor, merged newest first, cut at the page size. */
  private async appPage(scope: string, query: ListQuery): Promise<Page<MessageHead>> {
    const index = TABLE.indexes.byApp;
    const cursor = query.nextToken === undefined ? undefined : decodeCursor(query.nextToken);
    const bounds = timeBounds(query);
    const hi = cursor !== undefined && cursor < bounds.hi ? cursor : bounds.hi;
    // BETWEEN with its bounds reversed is a ValidationException: such a range holds nothing.
    if (bounds.lo > hi) return { items: [] };
    const shards = await Promise.all(
      Array.from({ length: APP_SHARDS }, (_, shard) => {
        const expression = new Expression();
        return this.context.calls.query("list", {
          IndexName: "byApp",
          KeyConditionExpression: `${expression.path(index.partitionKey)} = ${expression.value(`${scope}#${shard}`)} AND ${expression.path(index.sortKey)} BETWEEN ${expression.value(bounds.lo)} AND ${expression.value(hi)}`,
          ...expression.attributes(),
          ScanIndexForward: false,
          // One extra per shard: the cursor entry itself comes back (BETWEEN is inclusive) and is dropped.
          Limit: query.limit + 1,
        });
      }),
    );
    const sortKey = (item: Item) => String(item[index.sortKey]);
    const merged = shards
      .flatMap((result) => result.Items ?? [])
      .filter((item) => cursor === undefined || sortKey(item) < cursor)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
    const page = merged.slice(0, query.limit);
    const more =
      merged.length > query.limit || shards.some((result) => result.LastEvaluatedKey !== undefined);
    const last = page.at(-1);
    return {
      items: await this.heads("list", page),
      ...(more && last ? { nextToken: encodeToken({ c: sortKey(last) }) } : {}),
    };
  }

  /**
   * The heads of these index entries, read consistently in one BatchGetItem, in entry order. Heads gone
   * meanwhile, past retention or resolved (the index lags the table), or no longer matching, are left out.
   */
  private async heads(
    operation: string,
    entries: readonly Item[],
    matches: (head: MessageHead) => boolean = () => true,
  ): Promise<MessageHead[]> {
    const pks = [...new Set(entries.map((entry) => String(entry[TABLE.partitionKey])))];
    if (pks.length === 0) return [];
    const items = await this.context.calls.batchGet(
      operation,
      pks.map((pk) => ({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: HEAD_SK })),
    );
    const byPk = new Map(items.map((item) => [String(item[TABLE.partitionKey]), item]));
    const heads: MessageHead[] = [];
    for (const pk of pks) {
      const item = byPk.get(pk);
      if (!item || this.context.expired(item)) continue;
      const head = headFromItem(item);
      if (head.resolvedId === undefined && matches(head)) heads.push(head);
    }
    return heads;
  }
}

/** The key of an index entry, as DynamoDB's LastEvaluatedKey would give it: table key plus index key. */
function indexKeyOf(
  item: Item,
  index: { readonly partitionKey: string; readonly sortKey: string },
): Record<string, unknown> {
  return Object.fromEntries(
    [TABLE.partitionKey, TABLE.sortKey, index.partitionKey, index.sortKey].map((name) => [name, item[name]]),
  );
}
