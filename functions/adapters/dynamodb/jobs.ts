import { StoreUnavailableError } from "../../core/errors.ts";
import type { Job, JobStore } from "../../core/jobs/model.ts";
import type { Page, PageRequest } from "../../core/store.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import { domainFields } from "./items.ts";
import { ACTIVE_JOBS_PK, JOBS_PK, MAX_SORT_KEY_BYTES, TABLE } from "./table.ts";
import { startKey, tokenFrom } from "./tokens.ts";

type Item = Record<string, unknown>;

/** Statuses `activeJobs` returns; the others are terminal. */
const ACTIVE: readonly Job["status"][] = ["queued", "running"];

/**
 * How long a marker whose job write may still be on its way (the job missing, or behind the marker's rev)
 * is kept: the two writes are one call apart, so a marker this old lost its job write (a crash).
 */
export const MARKER_GRACE_MS = 5 * 60_000;

/** A marker as `activeJobs` reads it. */
interface Marker {
  readonly id: string;
  readonly rev: number;
  readonly at: number;
}

/**
 * Bulk jobs: every job one item in the one partition `JOBS`, sort key = the job id (ids sort by
 * creation, functions/core/jobs/ids.ts), the Job's fields as attributes (`id` is the sort key). Job items
 * carry no index key attribute, so they are in no index and cost nothing beyond their own item. No TTL:
 * retention does not apply to jobs.
 *
 * The active set (the sweep reads it every minute) is kept apart so its cost follows the active jobs, not
 * every job ever kept: a marker item per queued or running job in the partition `JOBS#ACTIVE` (sort key =
 * the job id; `rev`, the job's rev its write produces, and `at`, when it was put, epoch ms; no index key,
 * no TTL). A marker is written BEFORE the job becomes active and removed AFTER it became terminal, without
 * a transaction, so a crash between the two writes leaves a marker too many, never an active job without
 * one. `activeJobs` returns only the jobs its markers name that are active now, and drops (best effort,
 * conditional on the marker it saw) a marker whose job is terminal at or beyond the marker's rev, or whose
 * job is missing or behind it for longer than MARKER_GRACE_MS: a job write that failed after its marker
 * (a create or a resume lost in a crash) is not active, and its marker costs a read until then.
 *
 * Calls: `createJob` one conditional PutItem (attribute_not_exists), preceded by the marker's PutItem when
 * the job starts active (always, through the API): 2; `getJob` one consistent GetItem; `putJob` one
 * PutItem conditional on `rev`, and on the job being active already when it stays active (a progress
 * write: 1), plus the marker's DeleteItem after a write to a terminal status (2), or, when a job becomes
 * active again (resume), the refused write, the marker's PutItem and the write (3); `listJobs` one
 * consistent Query newest first per page; `activeJobs` one consistent Query of the markers (one per 1 MB,
 * ~20,000 markers) + ceil(n / 100) BatchGetItem of the n jobs they name (consistent), + one DeleteItem per
 * stale marker.
 */
export class DynamoJobs implements JobStore {
  constructor(private readonly context: StoreContext) {}

  async createJob(job: Job): Promise<boolean> {
    if (isActive(job)) await this.putMarker(job.id, job.rev);
    const e = new Expression();
    return this.context.calls.put("createJob", {
      Item: jobItem(job, job.rev),
      ConditionExpression: `attribute_not_exists(${e.path(TABLE.partitionKey)})`,
      ...e.attributes(),
    });
  }

  async getJob(id: string): Promise<Job | undefined> {
    // An id no job can have (from a URL) is answered without a call DynamoDB would refuse.
    if (!validSortKey(id)) return undefined;
    const item = await this.context.calls.get("getJob", { Key: jobKey(id), ConsistentRead: true });
    return item ? jobFromItem(item) : undefined;
  }

  async listJobs(page: PageRequest): Promise<Page<Job>> {
    const e = new Expression();
    const result = await this.context.calls.query("listJobs", {
      KeyConditionExpression: `${e.path(TABLE.partitionKey)} = ${e.value(JOBS_PK)}`,
      ScanIndexForward: false,
      Limit: Number.isFinite(page.limit) ? Math.max(1, Math.floor(page.limit)) : 1,
      ConsistentRead: true,
      ...startKey(page.nextToken, TABLE.partitionKey, JOBS_PK, {
        attribute: TABLE.sortKey,
        lo: "\u0000",
        hi: "\uffff",
      }),
      ...e.attributes(),
    });
    return { items: (result.Items ?? []).map(jobFromItem), ...tokenFrom(result.LastEvaluatedKey) };
  }

  async putJob(job: Job, expectedRev: number): Promise<boolean> {
    const rev = expectedRev + 1;
    if (!isActive(job)) {
      if (!(await this.writeJob(job, expectedRev, false))) return false;
      await this.dropMarker(job.id, rev);
      return true;
    }
    // Active before and after (progress, queued → running): its marker is there.
    if (await this.writeJob(job, expectedRev, true)) return true;
    // Refused: terminal before (a resume) or a stale rev. The marker first, then the job; after a stale
    // rev the marker is one too many (the job is active and has one, or it is dropped as stale).
    await this.putMarker(job.id, rev);
    return this.writeJob(job, expectedRev, false);
  }

  async activeJobs(): Promise<Job[]> {
    const markers: Marker[] = [];
    let start: Item | undefined;
    do {
      const e = new Expression();
      const result = await this.context.calls.query("activeJobs", {
        KeyConditionExpression: `${e.path(TABLE.partitionKey)} = ${e.value(ACTIVE_JOBS_PK)}`,
        ScanIndexForward: false,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
        ...e.attributes(),
      });
      markers.push(...(result.Items ?? []).map(markerFromItem));
      start = result.LastEvaluatedKey;
    } while (start);
    if (markers.length === 0) return [];

    const items = await this.context.calls.batchGet(
      "activeJobs",
      markers.map((marker) => jobKey(marker.id)),
    );
    const found = new Map(items.map((item) => [String(item[TABLE.sortKey]), jobFromItem(item)]));
    const now = this.context.now().getTime();
    const jobs: Job[] = [];
    const stale: Marker[] = [];
    for (const marker of markers) {
      const job = found.get(marker.id);
      if (job && isActive(job)) jobs.push(job);
      else if (staleMarker(marker, job, now)) stale.push(marker);
    }
    await Promise.all(stale.map((marker) => this.clearMarker(marker)));
    return jobs;
  }

  /** The job's PutItem, conditional on `rev` (and on the stored job being active, when `wasActive`). */
  private writeJob(job: Job, expectedRev: number, wasActive: boolean): Promise<boolean> {
    const e = new Expression();
    const active = wasActive
      ? ` AND ${e.path("status")} IN (${ACTIVE.map((status) => e.value(status)).join(", ")})`
      : "";
    // The stored job carries expectedRev + 1 whatever the caller set: revs only move forward by one.
    return this.context.calls.put("putJob", {
      Item: jobItem(job, expectedRev + 1),
      ConditionExpression: `${e.path("rev")} = ${e.value(expectedRev)}${active}`,
      ...e.attributes(),
    });
  }

  /**
   * Puts the marker for the job's write at `rev`, unless one for a later write is there (never lowered: a
   * stale writer must not let a finisher's drop take a resumed job's marker).
   */
  private async putMarker(id: string, rev: number): Promise<void> {
    const e = new Expression();
    await this.context.calls.put("activeMarker", {
      Item: { ...markerKey(id), rev, at: this.context.now().getTime() },
      ConditionExpression: `attribute_not_exists(${e.path(TABLE.partitionKey)}) OR ${e.path("rev")} <= ${e.value(rev)}`,
      ...e.attributes(),
    });
  }

  /**
   * After the job's terminal write at `rev`: drops its marker unless a later write put it (a resume racing
   * in). Best effort: a marker left behind is dropped by `activeJobs`.
   */
  private async dropMarker(id: string, rev: number): Promise<void> {
    const e = new Expression();
    await bestEffort(
      this.context.calls.delete("activeMarker", {
        Key: markerKey(id),
        ConditionExpression: `${e.path("rev")} <= ${e.value(rev)}`,
        ...e.attributes(),
      }),
    );
  }

  /** Drops a stale marker if it is still the one read (a resume puts a newer one). Best effort. */
  private async clearMarker(marker: Marker): Promise<void> {
    const e = new Expression();
    await bestEffort(
      this.context.calls.delete("activeMarker", {
        Key: markerKey(marker.id),
        ConditionExpression: `${e.path("rev")} = ${e.value(marker.rev)} AND ${e.path("at")} = ${e.value(marker.at)}`,
        ...e.attributes(),
      }),
    );
  }
}

const isActive = (job: Job): boolean => ACTIVE.includes(job.status);

/**
 * A marker nothing needs: its job is terminal at or beyond the marker's rev (a resume would put a marker
 * with a later rev first), or its job write has not come (the job missing or behind) within the grace.
 */
function staleMarker(marker: Marker, job: Job | undefined, now: number): boolean {
  if (job && job.rev >= marker.rev) return true;
  return now - marker.at > MARKER_GRACE_MS;
}

async function bestEffort(call: Promise<boolean>): Promise<void> {
  try {
    await call;
  } catch (error: unknown) {
    if (!(error instanceof StoreUnavailableError)) throw error;
  }
}

const jobKey = (id: string): Record<string, string> => ({
  [TABLE.partitionKey]: JOBS_PK,
  [TABLE.sortKey]: id,
});
const markerKey = (id: string): Record<string, string> => ({
  [TABLE.partitionKey]: ACTIVE_JOBS_PK,
  [TABLE.sortKey]: id,
});

const validSortKey = (id: string): boolean => id !== "" && Buffer.byteLength(id) <= MAX_SORT_KEY_BYTES;

/** The job as an item: its key, then its fields minus `id` (the sort key) and anything the table reserves. */
function jobItem(job: Job, rev: number): Item {
  const { id, ...fields } = job;
  return { ...domainFields({ ...fields, rev }), ...jobKey(id) };
}

function jobFromItem(item: Item): Job {
  return { id: String(item[TABLE.sortKey]), ...domainFields(item) } as unknown as Job;
}

function markerFromItem(item: Item): Marker {
  return { id: String(item[TABLE.sortKey]), rev: Number(item.rev), at: Number(item.at) };
}
