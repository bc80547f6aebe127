import type { Job, JobStore } from "../../core/jobs/model.ts";
import type { Page, PageRequest } from "../../core/store.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import { domainFields } from "./items.ts";
import { JOBS_PK, MAX_SORT_KEY_BYTES, TABLE } from "./table.ts";
import { startKey, tokenFrom } from "./tokens.ts";

type Item = Record<string, unknown>;

/** Statuses `activeJobs` returns. */
const ACTIVE: readonly Job["status"][] = ["queued", "running"];

/**
 * Bulk jobs: every job one item in the one partition `JOBS`, sort key = the job id (ids sort by
 * creation, functions/core/jobs/ids.ts), the Job's fields as attributes (`id` is the sort key). Job items
 * carry no index key attribute, so they are in no index and cost nothing beyond their own item. No TTL:
 * retention does not apply to jobs.
 *
 * Calls: `createJob` one conditional PutItem (attribute_not_exists), `getJob` one consistent GetItem,
 * `putJob` one PutItem conditional on `rev`, `listJobs` one consistent Query newest first per page,
 * `activeJobs` one consistent Query of the partition filtered on status (one more per MB of job items:
 * jobs are few, a dry run's preview is the largest part).
 */
export class DynamoJobs implements JobStore {
  constructor(private readonly context: StoreContext) {}

  async createJob(job: Job): Promise<boolean> {
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
    const e = new Expression();
    // The stored job carries expectedRev + 1 whatever the caller set: revs only move forward by one.
    return this.context.calls.put("putJob", {
      Item: jobItem(job, expectedRev + 1),
      ConditionExpression: `${e.path("rev")} = ${e.value(expectedRev)}`,
      ...e.attributes(),
    });
  }

  async activeJobs(): Promise<Job[]> {
    const jobs: Job[] = [];
    let start: Item | undefined;
    do {
      const e = new Expression();
      const result = await this.context.calls.query("activeJobs", {
        KeyConditionExpression: `${e.path(TABLE.partitionKey)} = ${e.value(JOBS_PK)}`,
        FilterExpression: `${e.path("status")} IN (${ACTIVE.map((status) => e.value(status)).join(", ")})`,
        ScanIndexForward: false,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
        ...e.attributes(),
      });
      jobs.push(...(result.Items ?? []).map(jobFromItem));
      start = result.LastEvaluatedKey;
    } while (start);
    return jobs;
  }
}

const jobKey = (id: string): Item => ({ [TABLE.partitionKey]: JOBS_PK, [TABLE.sortKey]: id });

const validSortKey = (id: string): boolean => id !== "" && Buffer.byteLength(id) <= MAX_SORT_KEY_BYTES;

/** The job as an item: its key, then its fields minus `id` (the sort key) and anything the table reserves. */
function jobItem(job: Job, rev: number): Item {
  const { id, ...fields } = job;
  return { ...domainFields({ ...fields, rev }), ...jobKey(id) };
}

function jobFromItem(item: Item): Job {
  return { id: String(item[TABLE.sortKey]), ...domainFields(item) } as unknown as Job;
}
