import { InvalidPageTokenError, type ListQuery } from "../../core/store.ts";
import { TABLE } from "./table.ts";

/**
 * Page tokens: a LastEvaluatedKey we issued (one partition's pages), or a cursor (`{ c: <sort key> }`)
 * for the whole-app listing that merges 16 shards. Anything else is refused (InvalidPageTokenError, a
 * 400), never passed on: DynamoDB would answer a ValidationException, a 5xx.
 */

/** DynamoDB's limit for a sort key (partition keys allow 2048): no token value may exceed it. */
const MAX_KEY_BYTES = 1024;

export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

export const tokenFrom = (key: Record<string, unknown> | undefined): { nextToken?: string } =>
  key ? { nextToken: encodeToken(key) } : {};

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

/** The whole-app cursor: the sort key of the last item returned. */
export function decodeCursor(token: string): string {
  const value = decodeToken(token);
  if (
    value === undefined ||
    Object.keys(value).length !== 1 ||
    typeof value.c !== "string" ||
    value.c === "" ||
    Buffer.byteLength(value.c) > MAX_KEY_BYTES
  )
    throw new InvalidPageTokenError();
  return value.c;
}

/**
 * A page token as ExclusiveStartKey: only one from this partition, with exactly the query's key
 * attributes (table key plus index key) and positioned inside the query's sort-key range.
 */
export function startKey(
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

/**
 * Sort-key bounds for `since`/`until` (inclusive); index sort keys are `<ISO time>#<id>`. Open ends are
 * the extremes of the key space (a `since` in year 9999 must not land above a made-up upper bound).
 */
export function timeBounds(query: Pick<ListQuery, "since" | "until">): { lo: string; hi: string } {
  return { lo: query.since ?? "0", hi: `${query.until ?? "\uffff"}#\uffff` };
}
