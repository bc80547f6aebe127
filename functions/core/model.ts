import { createHash } from "node:crypto";

/**
 * The provider-neutral message model. Provider modules translate their payloads into these shapes;
 * nothing here knows about AWS, HTTP or a particular provider's field names.
 */
/**
 * The providers im-edit ships with. A provider is a folder under providers/ with a manifest
 * (providers/manifest.ts) registered once per function bundle; these names are only the built-in ones.
 */
export const PROVIDER_NAMES = ["tencent", "netease"] as const;
export type BuiltInProviderName = (typeof PROVIDER_NAMES)[number];
declare const providerNameBrand: unique symbol;
/**
 * A provider's name: a built-in one (plain literals type-check), or any other that went through
 * `providerName`, which checks its shape. A string from a request is never a ProviderName by itself.
 */
export type ProviderName = BuiltInProviderName | (string & { readonly [providerNameBrand]: true });
/** Lower-case letters and digits: a path segment (`/callbacks/{name}`), an env prefix, a limiter key part. */
export const PROVIDER_NAME_PATTERN = /^[a-z][a-z0-9]{1,15}$/;

/** Checks a name's shape and brands it; throws for a name that could not be a provider's. */
export function providerName(name: string): ProviderName {
  if (!PROVIDER_NAME_PATTERN.test(name)) {
    throw new Error(`provider name ${JSON.stringify(name)} is not 2-16 lower-case letters and digits`);
  }
  return name as ProviderName;
}
export type Kind = "c2c" | "group" | "p2p" | "team" | "superteam";
export type MessageState = "pending" | "sent" | "failed" | "recalled";
/**
 * Who made a version: a provider callback, the app's own before-send rewrite through the relay (`app`), an
 * API edit, a rule (`auto`), a restore, the sender's own client edit, or a record the history APIs showed
 * that no callback had reported (`reconcile`).
 */
export type VersionSource = "callback" | "app" | "api" | "auto" | "restore" | "client" | "reconcile";

/** Provider-specific content (Tencent: `MsgBody` + `CloudCustomData`). Stored and returned as-is. */
export type Content = Readonly<Record<string, unknown>>;

/** Provider-specific key fields (natural key plus auxiliary ids), all strings so big ids stay exact. */
export type MessageKey = Readonly<Record<string, string>>;

export interface SendError {
  readonly code: number;
  readonly info: string;
}

/**
 * The message head: the newest known state of one message. It is a cache of the newest version item
 * and can be rebuilt from the versions; `rev` guards every write to it (optimistic concurrency).
 */
export interface MessageHead {
  readonly id: string;
  readonly provider: ProviderName;
  readonly appId: string;
  readonly kind: Kind;
  readonly key: MessageKey;
  /** Opaque, provider-defined; the list route filters by it. */
  readonly conversation: string;
  readonly sender?: string;
  /** Who made the provider send it, when not the sender (Tencent `Operator_Account`). */
  readonly operator?: string;
  readonly state: MessageState;
  /** 0 while nothing was delivered (pending, tombstones of recalls we never saw sent). */
  readonly version: number;
  readonly content?: Content;
  readonly contentHash?: string;
  /**
   * Provider time (epoch ms) of the event whose content the head shows. Provider order, not arrival
   * order: an event older than this is kept in history as a stale version and never replaces the content.
   */
  readonly eventAt?: number;
  /** Why the provider cannot edit this message even when sent (e.g. an AVChatRoom group). */
  readonly notEditable?: string;
  readonly sendError?: SendError;
  /**
   * A before-send a *decide* hook rewrote: what will be delivered, beside the sender's original (the
   * pending record's content). Kept as it is until the rules and relay issues version it (see callbacks.ts).
   */
  readonly rewrite?: PendingRewrite;
  /** Set on provisional records (group before-send) once the real message is known. */
  readonly resolvedId?: string;
  /** Natural-key index entry (`findByKey`); absent for provisional records that have no key yet. */
  readonly lookupKey?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly rev: number;
  /**
   * Version 1, kept in the message item itself (storage layout v2): a message that is never edited is
   * one item. Versions 2 and later are items of their own. Absent while nothing was delivered (version 0).
   */
  readonly first?: Version;
  /** Who holds the message for an edit, until when (epoch ms): the edit protocol's per-message lease. */
  readonly lease?: Lease;
  /** The edit in progress or just settled (at most one: the lease serializes edits). */
  readonly intent?: EditIntent;
}

export interface PendingRewrite {
  /** The whole content the provider was told to deliver. */
  readonly content: Content;
  /** The hooks whose rewrites made it, in order. */
  readonly by: readonly string[];
  readonly ruleId?: string;
  /**
   * Each rewrite in order (the app's answer, then each rule): the after-send turns them into versions 2,
   * 3, ... after the sender's original (version 1). Absent on records written before steps were kept.
   */
  readonly steps?: readonly RewriteStep[];
}

/** Who rewrote a before-send: the app through the relay (issue 16), or one of im-edit's rules. */
export type RewriteSource = "app" | "auto";

/** One before-send rewrite: the whole content after it, and who made it. */
export interface RewriteStep {
  readonly content: Content;
  readonly source: RewriteSource;
  /** The rule, for a rule's step. */
  readonly ruleId?: string;
  /** The hook that made it (`rules`, `app-relay`). */
  readonly by: string;
}

export interface Lease {
  readonly owner: string;
  readonly until: number;
}

export type IntentState = "open" | "unknown" | "applied";

/**
 * Written before the provider call so that the provider's echo of our own edit, arriving even before
 * its HTTP answer, is recognized, and an unanswered call can be resolved later.
 */
export interface EditIntent {
  readonly intentId: string;
  readonly leaseOwner: string;
  readonly baseVersion: number;
  /** The content before the edit: a read-back equal to it means the edit was not applied. */
  readonly baseContent: Content;
  /** The whole content after the edit. */
  readonly content: Content;
  /** Only the fields the edit sets: a commit after someone else's version lays these over it. */
  readonly changed: Content;
  readonly contentHash: string;
  readonly source: VersionSource;
  readonly actor: string;
  readonly idempotencyKey?: string;
  /** Hash of the request that used `idempotencyKey`: settling the intent completes or frees the key. */
  readonly idempotencyHash?: string;
  readonly ruleId?: string;
  /** The bulk job the edit belongs to: its version carries it (at most one version per message per job). */
  readonly jobId?: string;
  readonly state: IntentState;
  /** When the provider confirmed the edit applied: its echo matched, or it answered OK. */
  readonly confirmedAt?: string;
  readonly createdAt: string;
  /** Epoch ms by which the outcome must be known (the lease is held at least that long). */
  readonly deadline: number;
}

export interface Version {
  readonly version: number;
  readonly content: Content;
  readonly contentHash: string;
  readonly source: VersionSource;
  readonly actor?: string;
  readonly at: string;
  readonly ruleId?: string;
  /** The bulk job that wrote it. */
  readonly jobId?: string;
  readonly idempotencyKey?: string;
  readonly providerRequestId?: string;
  /** The edit intent that wrote it: committing the same intent twice finds it instead of a second version. */
  readonly intentId?: string;
  /** Provider time (epoch ms) of the event it records; for im-edit's own edits, when the provider answered. */
  readonly eventAt?: number;
  /** Identity of the provider event it records (a digest of the callback's bytes): a redelivery is a duplicate. */
  readonly eventKey?: string;
  /** Arrived after a newer provider event: kept in history, never the head's content. */
  readonly stale?: true;
  /** Set when the content was purged: `content` is then empty and only the hash remains. */
  readonly purged?: { readonly at: string; readonly by: string; readonly reason: string };
}

/** What a provider observed about a message, enough to create its head. */
export type ObservedMessage = Pick<
  MessageHead,
  | "id"
  | "provider"
  | "appId"
  | "kind"
  | "key"
  | "conversation"
  | "sender"
  | "operator"
  | "notEditable"
  | "lookupKey"
> & {
  /** When the message was sent, as the provider tells it (falls back to when we received it). */
  readonly sentAt: string;
};

/** The head fields an observed message fixes for good: identity, key, conversation and who sent it. */
export function identityOf(message: ObservedMessage): Omit<ObservedMessage, "sentAt"> {
  return {
    id: message.id,
    provider: message.provider,
    appId: message.appId,
    kind: message.kind,
    key: message.key,
    conversation: message.conversation,
    ...(message.sender !== undefined ? { sender: message.sender } : {}),
    ...(message.operator !== undefined ? { operator: message.operator } : {}),
    ...(message.notEditable !== undefined ? { notEditable: message.notEditable } : {}),
    ...(message.lookupKey !== undefined ? { lookupKey: message.lookupKey } : {}),
  };
}

/**
 * The message without what only the store needs (version 1's copy, a before-send rewrite kept beside
 * it, the lease, the edit intent): what
 * results and events carry, so an old content never travels with them (a purge removes it for good).
 */
export function messageOf(head: MessageHead): MessageHead {
  const { first: _first, lease: _lease, intent: _intent, rewrite: _rewrite, ...message } = head;
  return message;
}

export function isEditable(head: Pick<MessageHead, "state" | "notEditable" | "resolvedId">): boolean {
  return head.state === "sent" && head.notEditable === undefined && head.resolvedId === undefined;
}

/** sha256 of the canonical JSON (sorted keys) of a content object: equal content, equal hash. */
export function contentHash(content: Content): string {
  return createHash("sha256").update(canonicalJson(content)).digest("base64url");
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * Deterministic, URL-safe message id: `<prefix>_<26 base32 chars>`, the chars being the first 130 bits
 * of sha256 over the JSON array of the natural key's parts (provider and app id first). Same natural
 * key, same id, on every path (callback, REST reply, history import). Prefixes are a lower-case letter then letters or digits.
 */
export function messageId(prefix: string, parts: readonly string[]): string {
  const digest = createHash("sha256").update(JSON.stringify(parts)).digest();
  let out = "";
  let value = 0;
  let bits = 0;
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 26) break;
  }
  return `${prefix}_${out.slice(0, 26)}`;
}

export const MESSAGE_ID_PATTERN = /^[a-z][a-z0-9]{0,11}_[a-z2-7]{26}$/;
