import type { Job, JobStore } from "../core/jobs/model.ts";
import type { EditIntent, IntentState, Lease, MessageHead, Version } from "../core/model.ts";
import type {
  EditCommit,
  EditCoordination,
  IdempotencyRecord,
  IdempotencyStore,
  IntentChange,
  KeyQuery,
  ListQuery,
  MessageStore,
  Page,
  PageRequest,
  Store,
} from "../core/store.ts";

/** An adapter's parts, split by concern (each in its own file): together they are the whole port. */
export interface StoreParts {
  readonly messages: Omit<MessageStore, "findByKey" | "list">;
  readonly listing: Pick<MessageStore, "findByKey" | "list">;
  readonly coordination: EditCoordination;
  readonly idempotency: IdempotencyStore;
  readonly jobs: JobStore;
}

/**
 * The one `Store` port over an adapter's parts: every method forwards to the part that owns it. Each
 * adapter (DynamoDB, SQLite) extends it with its own construction; the forwarding is written once here.
 */
export abstract class ComposedStore implements Store {
  constructor(private readonly parts: StoreParts) {}

  getHead(id: string): Promise<MessageHead | undefined> {
    return this.parts.messages.getHead(id);
  }
  createHead(head: MessageHead): Promise<MessageHead | undefined> {
    return this.parts.messages.createHead(head);
  }
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    return this.parts.messages.putHead(head, expectedRev);
  }
  putVersion(id: string, version: Version): Promise<boolean> {
    return this.parts.messages.putVersion(id, version);
  }
  recentVersions(id: string, limit: number): Promise<Version[]> {
    return this.parts.messages.recentVersions(id, limit);
  }
  listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    return this.parts.messages.listVersions(id, page);
  }
  getVersion(id: string, version: number): Promise<Version | undefined> {
    return this.parts.messages.getVersion(id, version);
  }
  replaceVersion(id: string, version: Version): Promise<boolean> {
    return this.parts.messages.replaceVersion(id, version);
  }
  findByKey(query: KeyQuery): Promise<MessageHead[]> {
    return this.parts.listing.findByKey(query);
  }
  list(query: ListQuery): Promise<Page<MessageHead>> {
    return this.parts.listing.list(query);
  }

  acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean> {
    return this.parts.coordination.acquireLease(id, lease, nowMs);
  }
  extendLease(id: string, lease: Lease): Promise<boolean> {
    return this.parts.coordination.extendLease(id, lease);
  }
  releaseLease(id: string, owner: string): Promise<void> {
    return this.parts.coordination.releaseLease(id, owner);
  }
  beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean> {
    return this.parts.coordination.beginEdit(id, lease, intent, nowMs);
  }
  putIntent(id: string, intent: EditIntent): Promise<boolean> {
    return this.parts.coordination.putIntent(id, intent);
  }
  updateIntent(id: string, intentId: string, change: IntentChange, from?: IntentState): Promise<boolean> {
    return this.parts.coordination.updateIntent(id, intentId, change, from);
  }
  deleteIntent(id: string, intentId: string, options?: { evenIfApplied?: boolean }): Promise<boolean> {
    return this.parts.coordination.deleteIntent(id, intentId, options);
  }
  commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined> {
    return this.parts.coordination.commitEdit(id, commit);
  }

  claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    return this.parts.idempotency.claimIdempotencyKey(record, nowMs);
  }
  getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    return this.parts.idempotency.getIdempotencyRecord(key, nowMs);
  }
  completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void> {
    return this.parts.idempotency.completeIdempotencyKey(key, requestHash, result, expiresAtMs);
  }
  releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    return this.parts.idempotency.releaseIdempotencyKey(key, requestHash);
  }
  holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    return this.parts.idempotency.holdIdempotencyKey(key, requestHash, expiresAtMs);
  }
  replaceIdempotencyResult(key: string, result: unknown): Promise<void> {
    return this.parts.idempotency.replaceIdempotencyResult(key, result);
  }

  createJob(job: Job): Promise<boolean> {
    return this.parts.jobs.createJob(job);
  }
  getJob(id: string): Promise<Job | undefined> {
    return this.parts.jobs.getJob(id);
  }
  listJobs(page: PageRequest): Promise<Page<Job>> {
    return this.parts.jobs.listJobs(page);
  }
  putJob(job: Job, expectedRev: number): Promise<boolean> {
    return this.parts.jobs.putJob(job, expectedRev);
  }
  activeJobs(): Promise<Job[]> {
    return this.parts.jobs.activeJobs();
  }
}
