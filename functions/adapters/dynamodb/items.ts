import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ALL_LISTINGS, type Listings } from "../../core/listings.ts";
import { canonicalJson, type MessageHead, type Version } from "../../core/model.ts";
import { APP_SHARDS, HEAD_SK, MESSAGE_PREFIX, messagePk, TABLE, VERSION_PREFIX, versionSk } from "./table.ts";

/**
 * The item codec of layout v2 (table.ts): domain heads and versions to items and back. Items carry
 * nothing the domain objects can derive (the id is the pk, a version's number its sk, version 1's
 * fields that equal the head's), so a short message's head stays under 1 KB with its index keys.
 */

type Item = Record<string, unknown>;

const { byConversation, byApp } = TABLE.indexes;
/** Attributes that exist only for DynamoDB (keys, index keys, TTL); never part of a domain object. */
const STORAGE_ATTRIBUTES = new Set<string>([
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.ttlAttribute,
  byConversation.partitionKey,
  byConversation.sortKey,
  byApp.partitionKey,
  byApp.sortKey,
]);

/**
 * The whole head item (a Put): domain fields, `first` compacted against them, the index keys of the
 * listings kept (every one by default), TTL.
 */
export function headItem(head: MessageHead, expiry: Item, listings: Listings = ALL_LISTINGS): Item {
  const { id, first, ...fields } = head;
  return {
    ...defined(fields),
    ...(first ? { first: compactFirst(first, head) } : {}),
    ...indexAttributes(head, listings),
    ...expiry,
    [TABLE.partitionKey]: messagePk(id),
    [TABLE.sortKey]: HEAD_SK,
  };
}

export function headFromItem(item: Item): MessageHead {
  const fields = domainFields(item);
  const { first, ...rest } = fields;
  const head = { id: String(item[TABLE.partitionKey]).slice(MESSAGE_PREFIX.length), ...rest } as MessageHead;
  return first !== undefined && first !== null ? { ...head, first: expandFirst(first as Item, head) } : head;
}

/** Version 1 as the head holds it, or undefined when the head has none (nothing delivered yet). */
export function firstFromItem(item: Item): Version | undefined {
  return headFromItem(item).first;
}

export function isHeadItem(item: Item): boolean {
  return item[TABLE.sortKey] === HEAD_SK;
}

/**
 * Version 1 without what equals the head: content and hash while the head shows the same content,
 * `at` = createdAt, `eventAt` = the head's, `actor` = sender, `version` (always 1). An optional field
 * absent from version 1 while the head has it is stored as null, so it is not restored from the head.
 */
export function compactFirst(first: Version, head: MessageHead): Item {
  const { version: _, content, contentHash, at, eventAt, actor, ...rest } = first;
  const stored: Item = defined(rest);
  const sameContent =
    contentHash === head.contentHash &&
    head.content !== undefined &&
    canonicalJson(content) === canonicalJson(head.content);
  if (!sameContent) {
    stored.content = content;
    stored.contentHash = contentHash;
  }
  if (at !== head.createdAt) stored.at = at;
  if (eventAt !== head.eventAt) stored.eventAt = eventAt ?? null;
  if (actor !== head.sender) stored.actor = actor ?? null;
  return stored;
}

/** Version 1 with every field restored (the inverse of compactFirst, against the same head). */
export function expandFirst(stored: Item, head: MessageHead): Version {
  const { content, contentHash, at, eventAt, actor, ...rest } = stored;
  const restoredEventAt = eventAt === undefined ? head.eventAt : eventAt;
  const restoredActor = actor === undefined ? head.sender : actor;
  return {
    ...(rest as Partial<Version>),
    version: 1,
    content: (content ?? head.content ?? {}) as Version["content"],
    contentHash: (contentHash ?? head.contentHash ?? "") as string,
    at: (at ?? head.createdAt) as string,
    ...(restoredEventAt !== undefined && restoredEventAt !== null
      ? { eventAt: restoredEventAt as number }
      : {}),
    ...(restoredActor !== undefined && restoredActor !== null ? { actor: restoredActor as string } : {}),
  } as Version;
}

/** Version 1 as replaceVersion writes it into the head: everything but its number (no head to compact against). */
export function storedFirst(first: Version): Item {
  const { version: _, ...rest } = first;
  return {
    ...defined(rest),
    ...(first.eventAt === undefined ? { eventAt: null } : {}),
    ...(first.actor === undefined ? { actor: null } : {}),
  };
}

export function versionItem(id: string, version: Version, expiry: Item): Item {
  const { version: n, ...fields } = version;
  return {
    ...defined(fields),
    ...expiry,
    [TABLE.partitionKey]: messagePk(id),
    [TABLE.sortKey]: versionSk(n),
  };
}

export function versionFromItem(item: Item): Version {
  const sk = String(item[TABLE.sortKey]);
  return { version: Number(sk.slice(VERSION_PREFIX.length)), ...domainFields(item) } as unknown as Version;
}

/**
 * Index keys of a head, for the listings kept: a listing that is off gets no entry, and no write (the
 * shared sort key `ts` only when one of them is on). A resolved provisional head leaves every index (it
 * only redirects); every other head is in each kept, a version-0 head without a natural key included.
 */
export function indexAttributes(
  head: MessageHead,
  listings: Listings = ALL_LISTINGS,
): Record<string, string> {
  if (head.resolvedId !== undefined || listings.size === 0) return {};
  const scope = `${head.provider}#${head.appId}`;
  return {
    ...(listings.has("conversation")
      ? { [byConversation.partitionKey]: `${scope}#${head.conversation}` }
      : {}),
    [byConversation.sortKey]: `${head.createdAt}#${head.id}`,
    ...(listings.has("app") ? { [byApp.partitionKey]: `${scope}#${appShard(head.sender ?? head.id)}` } : {}),
  };
}

/**
 * The `byApp` shard of a sender (of the id when there is none): FNV-1a over its UTF-8 bytes. One
 * sender's messages share a shard, so listing a sender reads one partition.
 */
export function appShard(value: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(value, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % APP_SHARDS;
}

/** Drops the storage attributes (keys, index keys, TTL). */
export function domainFields(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !STORAGE_ATTRIBUTES.has(name)));
}

/** An item in DynamoDB's wire format (ReturnValuesOnConditionCheckFailure: the SDK leaves it marshalled). */
export function fromAttributeValues(item: Record<string, AttributeValue>): Item {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, fromAttributeValue(value)]));
}

function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return fromAttributeValues(value.M);
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.B !== undefined) return value.B;
  if (value.BS !== undefined) return new Set(value.BS);
  throw new TypeError("unknown DynamoDB attribute value");
}

function defined(fields: object): Item {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
