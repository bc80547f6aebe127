import { createHash } from "node:crypto";
import type { SQLInputValue } from "node:sqlite";
import type { EditIntent, MessageHead, Version } from "../../core/model.ts";
import { InvalidPageTokenError } from "../../core/store.ts";

/** The columns every head read selects (`HEAD_COLUMNS`) and what `headFrom` turns them back into. */
export const HEAD_COLUMNS = "data, version, rev, first, lease_owner, lease_until, intent";

export interface HeadRow {
  readonly data: string;
  readonly version: number;
  readonly rev: number;
  readonly first: string | null;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly intent: string | null;
}

/** A stored row is live until its retention expiry (epoch ms); `:now` is bound by every read. */
export const LIVE = "(expires_at IS NULL OR expires_at > :now)";

export function headFrom(row: HeadRow): MessageHead {
  const rest = JSON.parse(row.data) as Omit<MessageHead, "version" | "rev" | "first" | "lease" | "intent">;
  return {
    ...rest,
    version: row.version,
    rev: row.rev,
    ...(row.first !== null ? { first: JSON.parse(row.first) as Version } : {}),
    ...(row.lease_owner !== null ? { lease: { owner: row.lease_owner, until: row.lease_until ?? 0 } } : {}),
    ...(row.intent !== null ? { intent: JSON.parse(row.intent) as EditIntent } : {}),
  };
}

/** The named parameters of a whole-head write (insert or replace). */
export function headParams(head: MessageHead, expiresAt: number | null): Record<string, SQLInputValue> {
  const { version, rev, first, lease, intent, ...rest } = head;
  return {
    id: head.id,
    provider: head.provider,
    app_id: head.appId,
    conversation: head.conversation,
    sender: head.sender ?? null,
    lookup_key: head.lookupKey ?? null,
    // Resolved provisional heads only redirect: they are in no listing and no key lookup.
    listed: head.resolvedId === undefined ? 1 : 0,
    sort_key: `${head.createdAt}#${head.id}`,
    version,
    rev,
    data: JSON.stringify(rest),
    first: first !== undefined ? JSON.stringify(first) : null,
    lease_owner: lease?.owner ?? null,
    lease_until: lease?.until ?? null,
    intent: intent !== undefined ? JSON.stringify(intent) : null,
    expires_at: expiresAt,
  };
}

/** Column list and placeholders of a whole-head write, in the order of `headParams`. */
export const HEAD_WRITE_COLUMNS = [
  "id",
  "provider",
  "app_id",
  "conversation",
  "sender",
  "lookup_key",
  "listed",
  "sort_key",
  "version",
  "rev",
  "data",
  "first",
  "lease_owner",
  "lease_until",
  "intent",
  "expires_at",
] as const;

/** Most bytes a page token's position may have (as the DynamoDB adapter: a sort key's limit). */
const MAX_POSITION_BYTES = 1024;

/**
 * Page tokens are opaque: base64url JSON of the query's fingerprint and the last position returned.
 * A token from another query, tampered with, or positioned outside the query's range is refused.
 */
export function encodeToken(fingerprint: string, position: string | number): string {
  return Buffer.from(JSON.stringify({ q: fingerprint, p: position }), "utf8").toString("base64url");
}

export function decodeToken(token: string, fingerprint: string): string | number {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new InvalidPageTokenError();
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new InvalidPageTokenError();
  const { q, p, ...extra } = value as Record<string, unknown>;
  if (q !== fingerprint || Object.keys(extra).length > 0) throw new InvalidPageTokenError();
  if (typeof p === "number" && Number.isSafeInteger(p) && p >= 0) return p;
  if (typeof p === "string" && p !== "" && Buffer.byteLength(p) <= MAX_POSITION_BYTES) return p;
  throw new InvalidPageTokenError();
}

/** A short digest naming a query (what it lists), so that a token only continues the query it came from. */
export function fingerprint(parts: readonly (string | undefined)[]): string {
  return createHash("sha256")
    .update(JSON.stringify(parts.map((part) => part ?? null)))
    .digest("base64url")
    .slice(0, 16);
}

/** Page sizes as given, at least 1 (the HTTP layer validates them; this only keeps SQL sane). */
export function pageSize(limit: number): number {
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 1;
}
