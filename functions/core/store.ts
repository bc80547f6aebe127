import type { Content, MessageHead, ProviderName, Version, VersionSource } from "./model.ts";

/**
 * The storage port. Every method is a single-item operation (or a query); the conditional writes
 * are the concurrency control, so the adapter must report condition failures as `false`, not throw.
 * Infrastructure failures throw (and the caller spools or answers 503).
 */
export interface MessageStore {
  getHead(id: string): Promise<MessageHead | undefined>;
  /**
   * Writes the head if it is still at `expectedRev` (or absent, when `expectedRev` is undefined).
   * Returns false when someone else wrote first.
   */
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean>;
  /** Writes a version item unless that version number exists. Returns false when it exists. */
  putVersion(id: string, version: Version): Promise<boolean>;
  /** The newest version items, newest first (head repair, recognizing stale echoes). */
  recentVersions(id: string, limit: number): Promise<Version[]>;
  listVersions(id: string, page: PageRequest): Promise<Page<Version>>;
  /** All heads whose natural-key index entry equals `primary` (tiny candidate sets). */
  findByKey(provider: ProviderName, appId: string, primary: string): Promise<MessageHead[]>;
  list(query: ListQuery): Promise<Page<MessageHead>>;

  getVersion(id: string, version: number): Promise<Version | undefined>;
  /** Overwrites an existing version item (purge); false when it does not exist. */
  replaceVersion(id: string, version: Version): Promise<boolean>;

  /** Takes the per-message lease if it is free or expired at `nowMs`. */
  acquireLease(id: string, owner: string, untilMs: number, nowMs: number): Promise<boolean>;
  /** Extends a lease this owner holds; false when it is not (or no longer) theirs. */
  extendLease(id: string, owner: string, untilMs: number): Promise<boolean>;
  releaseLease(id: string, owner: string): Promise<void>;

  /** The message's edit intent (at most one: the lease serializes edits). */
  getIntent(id: string): Promise<EditIntent | undefined>;
  putIntent(id: string, intent: EditIntent): Promise<void>;
  /** Changes the intent if it is still `intentId` (and, when given, still in state `from`). */
  updateIntent(id: string, intentId: string, change: IntentChange, from?: IntentState): Promise<boolean>;
  /** Deletes the intent unless it was applied meanwhile (or `evenIfApplied`); false when it was kept or gone. */
  deleteIntent(id: string, intentId: string, options?: { evenIfApplied?: boolean }): Promise<boolean>;

  /** Claims an idempotency key (absent or expired); false when a live record exists. */
  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean>;
  getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined>;
  /** Records the first result; the key is then remembered until `expiresAtMs`. */
  completeIdempotencyKey(
    key: string,
    requestHash: string,
    response: StoredResponse,
    expiresAtMs: number,
  ): Promise<void>;
  releaseIdempotencyKey(key: string, requestHash: string): Promise<void>;
  /** Keeps a pending key held until `expiresAtMs` (its edit's outcome is unknown); false when it is not this request's. */
  holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean>;
  /** Replaces a remembered result (purge: the old one carries purged content); the key stays used. */
  replaceIdempotencyResponse(key: string, response: StoredResponse): Promise<void>;
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
  readonly state: IntentState;
  /** When the provider confirmed the edit applied: its echo matched, or it answered OK. */
  readonly confirmedAt?: string;
  readonly createdAt: string;
  /** Epoch ms by which the outcome must be known (the lease is held at least that long). */
  readonly deadline: number;
}

export type IntentChange = Partial<Pick<EditIntent, "state" | "confirmedAt" | "deadline">>;

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface IdempotencyRecord {
  readonly key: string;
  /** Hash of what the key was first used for (route, target, body, preconditions). */
  readonly requestHash: string;
  readonly state: "pending" | "done";
  readonly response?: StoredResponse;
  /** Epoch ms after which the key may be used again. */
  readonly expiresAtMs: number;
}

export interface PageRequest {
  readonly limit: number;
  readonly nextToken?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

export interface ListQuery extends PageRequest {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly conversation?: string;
  readonly sender?: string;
  /** Inclusive ISO timestamp bounds on `createdAt`. */
  readonly since?: string;
  readonly until?: string;
}

/** Thrown by adapters when a `nextToken` is not one they issued. */
export class InvalidPageTokenError extends Error {
  constructor() {
    super("nextToken is not valid for this query");
    this.name = "InvalidPageTokenError";
  }
}
