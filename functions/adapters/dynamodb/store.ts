import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { MessageHead, Version } from "../../core/model.ts";
import type {
  EditCommit,
  EditIntent,
  IdempotencyRecord,
  IntentChange,
  IntentState,
  KeyQuery,
  Lease,
  ListQuery,
  Page,
  PageRequest,
  Store,
} from "../../core/store.ts";
import { type DynamoStoreOptions, StoreContext } from "./context.ts";
import { DynamoCoordination } from "./coordination.ts";
import { DynamoIdempotency } from "./idempotency.ts";
import { DynamoListing } from "./listing.ts";
import { DynamoMessages } from "./messages.ts";

export type { CapacityObserver } from "./calls.ts";
export type { DynamoStoreOptions } from "./context.ts";
export { appShard } from "./items.ts";
export { MAX_EXAMINED_PER_PAGE } from "./listing.ts";
export { indexEntrySize, itemSize, storedBytes, writeUnits } from "./size.ts";

/**
 * The DynamoDB adapter: every storage port on one table, layout v2 (table.ts). The parts:
 * messages.ts (heads and versions), listing.ts (listings and partial natural keys, over the indexes),
 * coordination.ts (lease and intent on the head), idempotency.ts, items.ts (the item codec).
 */
export class DynamoStore implements Store {
  private readonly messages: DynamoMessages;
  private readonly listing: DynamoListing;
  private readonly coordination: DynamoCoordination;
  private readonly idempotency: DynamoIdempotency;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoStoreOptions = {}) {
    const context = new StoreContext(client, tableName, options);
    this.messages = new DynamoMessages(context);
    this.listing = new DynamoListing(context);
    this.coordination = new DynamoCoordination(context);
    this.idempotency = new DynamoIdempotency(context);
  }

  getHead(id: string): Promise<MessageHead | undefined> {
    return this.messages.getHead(id);
  }
  createHead(head: MessageHead): Promise<MessageHead | undefined> {
    return this.messages.createHead(head);
  }
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    return this.messages.putHead(head, expectedRev);
  }
  putVersion(id: string, version: Version): Promise<boolean> {
    return this.messages.putVersion(id, version);
  }
  recentVersions(id: string, limit: number): Promise<Version[]> {
    return this.messages.recentVersions(id, limit);
  }
  listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    return this.messages.listVersions(id, page);
  }
  getVersion(id: string, version: number): Promise<Version | undefined> {
    return this.messages.getVersion(id, version);
  }
  replaceVersion(id: string, version: Version): Promise<boolean> {
    return this.messages.replaceVersion(id, version);
  }
  findByKey(query: KeyQuery): Promise<MessageHead[]> {
    return this.listing.findByKey(query);
  }
  list(query: ListQuery): Promise<Page<MessageHead>> {
    return this.listing.list(query);
  }

  acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean> {
    return this.coordination.acquireLease(id, lease, nowMs);
  }
  extendLease(id: string, lease: Lease): Promise<boolean> {
    return this.coordination.extendLease(id, lease);
  }
  releaseLease(id: string, owner: string): Promise<void> {
    return this.coordination.releaseLease(id, owner);
  }
  beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean> {
    return this.coordination.beginEdit(id, lease, intent, nowMs);
  }
  putIntent(id: string, intent: EditIntent): Promise<boolean> {
    return this.coordination.putIntent(id, intent);
  }
  updateIntent(id: string, intentId: string, change: IntentChange, from?: IntentState): Promise<boolean> {
    return this.coordination.updateIntent(id, intentId, change, from);
  }
  deleteIntent(id: string, intentId: string, options?: { evenIfApplied?: boolean }): Promise<boolean> {
    return this.coordination.deleteIntent(id, intentId, options);
  }
  commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined> {
    return this.coordination.commitEdit(id, commit);
  }

  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    return this.idempotency.claimIdempotencyKey(record, nowMs);
  }
  getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    return this.idempotency.getIdempotencyRecord(key, nowMs);
  }
  completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void> {
    return this.idempotency.completeIdempotencyKey(key, requestHash, result, expiresAtMs);
  }
  releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    return this.idempotency.releaseIdempotencyKey(key, requestHash);
  }
  holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    return this.idempotency.holdIdempotencyKey(key, requestHash, expiresAtMs);
  }
  replaceIdempotencyResult(key: string, result: unknown): Promise<void> {
    return this.idempotency.replaceIdempotencyResult(key, result);
  }
}
