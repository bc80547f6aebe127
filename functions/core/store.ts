import type { JobStore } from "./jobs/model.ts";
import type { EditIntent, IntentState, Lease, MessageHead, ProviderName, Version } from "./model.ts";

export type { Job, JobStatus, JobStore } from "./jobs/model.ts";
export type { EditIntent, IntentState, Lease } from "./model.ts";

/**
 * The storage ports, split by concern: messages and their versions, edit coordination, idempotency.
 * Every method is one store call (one item operation, or one query; a list page may add one batch read);
 * the conditional writes are the concurrency control, so adapters report condition failures as `false`
 * (or `undefined`), never throw them. Infrastructure failures throw (the caller spools or answers 503).
 *
 * Layout v2 (every adapter): a message is ONE item (the head) until its first change: version 1 lives in
 * the head as `first`, versions 2 and later are items of their own, and the lease and the edit intent are
 * attributes of the head. Every write of the head (whole or partial) increments `rev`, so a writer holding
 * an older head can never erase a lease, an intent or a version 1 written meanwhile.
 *
 * Calls per operation (tested by a counting wrapper, test/helpers/counting-store.ts):
 * - a new message recorded: 1 (`createHead`); the same callback again: 1 (the failed create returns the head)
 * - an edit on the happy path: 4 (`getHead`, `beginEdit`, `putVersion`, `commitEdit`), plus 2 for the
 *   provider's echo of it in the recorder (`getHead`, `updateIntent`): 6 in all.
 * - a bulk job (`JobStore`): 1 per method (`createJob`, `getJob`, `putJob`, a `listJobs` page, `activeJobs`);
 *   DynamoDB keeps a marker per active job: `createJob` 2, `putJob` 1 (2 to a terminal status, 3 on a
 *   resume), `activeJobs` 1 + ceil(active / 100) (functions/adapters/dynamodb/jobs.ts).
 */
export interface MessageStore {
  /** The head with its `first` version, lease and intent, read consistently. */
  getHead(id: string): Promise<MessageHead | undefined>;
  /** Creates the head unless one exists. Undefined when created; otherwise the head that is there. */
  createHead(head: MessageHead): Promise<MessageHead | undefined>;
  /**
   * Writes the whole head if it is still at `expectedRev` (or absent, when `expectedRev` is undefined).
   * Returns false when someone else wrote first.
   */
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean>;
  /**
   * Writes version n ≥ 2 unless that number exists (false then): the serialization point of every change
   * after the first. Version 1 is written with the head (`first`), never through here.
   */
  putVersion(id: string, version: Version): Promise<boolean>;
  /** The newest versions (version 1 from the head included), newest first. */
  recentVersions(id: string, limit: number): Promise<Version[]>;
  /** Versions oldest first, version 1 included. */
  listVersions(id: string, page: PageRequest): Promise<Page<Version>>;
  getVersion(id: string, version: number): Promise<Version | undefined>;
  /** Overwrites an existing version (stale mark, purge); false when it does not exist. Version 1 changes the head. */
  replaceVersion(id: string, version: Version): Promise<boolean>;
  /** Heads whose `lookupKey` equals the query's, narrowed by its hints (partial natural keys: tiny sets). */
  findByKey(query: KeyQuery): Promise<MessageHead[]>;
  list(query: ListQuery): Promise<Page<MessageHead>>;
}

/** The edit protocol's coordination, all on the head item. */
export interface EditCoordination {
  /** Takes the lease if it is free, expired at `nowMs`, or already `lease.owner`'s; false when the message is absent. */
  acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean>;
  /** Extends a lease this owner holds; false when it is not (or no longer) theirs. */
  extendLease(id: string, lease: Lease): Promise<boolean>;
  releaseLease(id: string, owner: string): Promise<void>;
  /**
   * Takes the lease and records the intent in one conditional write: only if the head is still at
   * `intent.baseVersion`, the lease is free, expired at `nowMs` or the owner's, and no unsettled intent
   * (open or unknown) remains. False otherwise (the caller falls back to waiting and resolving).
   */
  beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean>;
  /**
   * Records an intent under the lease its `leaseOwner` holds (the slow path, after `acquireLease`); false
   * when that lease is no longer theirs (expired and taken): the edit must not go on.
   */
  putIntent(id: string, intent: EditIntent): Promise<boolean>;
  /** Changes the intent if it is still `intentId` (and, when given, still in state `from`). */
  updateIntent(id: string, intentId: string, change: IntentChange, from?: IntentState): Promise<boolean>;
  /** Removes the intent unless it was applied meanwhile (or `evenIfApplied`); false when it was kept or gone. */
  deleteIntent(id: string, intentId: string, options?: { evenIfApplied?: boolean }): Promise<boolean>;
  /**
   * The end of an edit on the happy path, in one conditional write: the head shows `version` (already
   * written by `putVersion`), the intent is marked applied until `echoUntil`, the lease is released. Only
   * if `owner` still holds the lease, the intent is still `version.intentId` and the head is at
   * `version.version - 1`; the new head, or undefined when a condition failed (the caller takes the slow path).
   */
  commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined>;
}

export interface EditCommit {
  readonly owner: string;
  readonly version: Version;
  /** The head's provider time after the edit. */
  readonly eventAt: number;
  readonly echoUntil: number;
  readonly updatedAt: string;
}

export type IntentChange = Partial<Pick<EditIntent, "state" | "confirmedAt" | "deadline">>;

/** `Idempotency-Key` records: results are domain results; the HTTP layer renders them. */
export interface IdempotencyStore {
  /** Claims a key (absent or expired); false when a live record exists. */
  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean>;
  getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined>;
  /** Records the first result; the key is then remembered until `expiresAtMs`. */
  completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void>;
  releaseIdempotencyKey(key: string, requestHash: string): Promise<void>;
  /** Keeps a pending key held until `expiresAtMs` (its edit's outcome is unknown); false when it is not this request's. */
  holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean>;
  /** Replaces a remembered result (purge: the old one carries purged content); the key stays used. */
  replaceIdempotencyResult(key: string, result: unknown): Promise<void>;
}

/** What every adapter implements (bulk jobs live in the same table or database as the messages). */
export type Store = MessageStore & EditCoordination & IdempotencyStore & JobStore;

export interface IdempotencyRecord {
  readonly key: string;
  /** Hash of what the key was first used for (operation, target, body, preconditions). */
  readonly requestHash: string;
  readonly state: "pending" | "done";
  /** The first result (an `EditResult`), once done. */
  readonly result?: unknown;
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

export interface KeyQuery {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly lookupKey: string;
  /** The sender, when the partial key names it. */
  readonly sender?: string;
  /** Inclusive ISO bounds on the send time, when the key itself carries it (a Tencent MsgKey ends in MsgTime). */
  readonly sentBetween?: readonly [string, string];
}

/** Thrown by adapters when a `nextToken` is not one they issued. */
export class InvalidPageTokenError extends Error {
  constructor() {
    super("nextToken is not valid for this query");
    this.name = "InvalidPageTokenError";
  }
}

/** Thrown by adapters that cannot answer a partial-key query without its hints inside one bounded read. */
export class KeyQueryTooBroadError extends Error {
  constructor() {
    super("the partial key needs more fields to be found");
    this.name = "KeyQueryTooBroadError";
  }
}
