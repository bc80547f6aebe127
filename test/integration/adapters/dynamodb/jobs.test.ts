import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { itemSize } from "../../../../functions/adapters/dynamodb/store.ts";
import { JOBS_PK, TABLE } from "../../../../functions/adapters/dynamodb/table.ts";
import { newJobId } from "../../../../functions/core/jobs/ids.ts";
import type { Job, PreviewItem } from "../../../../functions/core/jobs/model.ts";
import { NOW } from "../../../contract/fixtures.ts";
import { fullJob, queuedJob } from "../../../contract/jobs.contract.ts";
import { STORE_TARGETS } from "../../../helpers/dynamo.ts";
import { countingClient, useStore } from "../../../helpers/store.ts";

/** Every attribute a GSI keys on: a job item must carry none, so it is in no index and costs nothing there. */
const INDEX_KEYS = Object.values(TABLE.indexes).flatMap((index) => [index.partitionKey, index.sortKey]);

/** A dry run's preview at its cap: 100 messages, each `bytes` of text before and after. */
const bigPreview = (bytes: number): PreviewItem[] =>
  Array.from({ length: 100 }, (_, i) => ({
    id: `c2c_${i}`,
    before: { text: "a".repeat(bytes), customData: '{"k":1}' },
    after: { text: "b".repeat(bytes), customData: '{"k":1}' },
  }));

describe.each(STORE_TARGETS)("DynamoStore jobs on $name", (target) => {
  const { store, storeWith, table } = useStore(target);
  const rawJob = async (id: string) => {
    const { client, tableName } = table();
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: JOBS_PK, sk: id }, ConsistentRead: true }),
    );
    return Item as Record<string, unknown>;
  };

  it("stores a job as one item in the jobs partition, without index keys or TTL", async () => {
    const job = fullJob({ id: newJobId(NOW) });
    await store().createJob(job);
    const item = await rawJob(job.id);
    expect(item).not.toHaveProperty("id");
    for (const attribute of [...INDEX_KEYS, TABLE.ttlAttribute]) expect(item).not.toHaveProperty(attribute);
    // Stable attribute names: the Job's own (the id is the sort key).
    const { id: _, ...fields } = job;
    expect(Object.keys(item).sort()).toEqual([...Object.keys(fields), "pk", "sk"].sort());
  });

  it("makes one call per method, and a job write touches no index", async () => {
    const counted = countingClient(table().client);
    const reports: { operation: string; consumed: readonly ConsumedCapacity[] }[] = [];
    const jobs = storeWith(
      { onCapacity: (operation, consumed) => reports.push({ operation, consumed }) },
      counted.client,
    );
    const job = queuedJob({ id: newJobId(NOW) });
    await jobs.createJob(job);
    await jobs.getJob(job.id);
    await jobs.putJob({ ...job, status: "running", rev: 1 }, 0);
    await jobs.listJobs({ limit: 5 });
    await jobs.activeJobs();
    expect(counted.calls).toEqual(["PutCommand", "GetCommand", "PutCommand", "QueryCommand", "QueryCommand"]);
    const writes = reports.filter(
      (report) => report.operation === "createJob" || report.operation === "putJob",
    );
    expect(writes).toHaveLength(2);
    for (const write of writes) {
      expect(write.consumed[0]?.GlobalSecondaryIndexes).toBeUndefined();
      expect(write.consumed[0]?.CapacityUnits).toBe(1);
    }
  });

  it("round-trips a job with a full preview (100 messages) well under the 400 KB item limit", async () => {
    const job = fullJob({ id: newJobId(NOW), status: "done", preview: bigPreview(1_000) });
    expect(await store().createJob(job)).toBe(true);
    const size = itemSize(await rawJob(job.id));
    expect(size).toBeGreaterThan(200_000);
    expect(size).toBeLessThan(400 * 1024);
    expect(await store().getJob(job.id)).toEqual(job);
  });

  it("finds every active job even when the jobs partition holds more than one Query page (1 MB)", async () => {
    const counted = countingClient(table().client);
    const own = storeWith({}, counted.client);
    // Five finished dry runs of ~250 KB each push the active ones onto a second and third MB.
    const old = queuedJob({ id: newJobId(NOW - 10_000) });
    await own.createJob(old);
    for (let i = 0; i < 5; i++) {
      await own.createJob(
        fullJob({ id: newJobId(NOW - 5_000 + i), status: "done", preview: bigPreview(1_200) }),
      );
    }
    const recent = fullJob({ id: newJobId(NOW + 1_000), status: "running" });
    await own.createJob(recent);
    counted.calls.length = 0;
    const active = (await own.activeJobs()).map((job: Job) => job.id);
    expect(active).toContain(old.id);
    expect(active).toContain(recent.id);
    // dynalite stops a Query at 1 MB as DynamoDB does; DynamoDB Local answered in one page here.
    if (target.name === "dynalite") expect(counted.calls.length).toBeGreaterThanOrEqual(2);
    expect(counted.calls.every((call) => call === "QueryCommand")).toBe(true);
  });
});
