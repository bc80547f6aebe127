import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { MARKER_GRACE_MS } from "../../../../functions/adapters/dynamodb/jobs.ts";
import { itemSize } from "../../../../functions/adapters/dynamodb/store.ts";
import { ACTIVE_JOBS_PK, JOBS_PK, TABLE } from "../../../../functions/adapters/dynamodb/table.ts";
import { StoreUnavailableError } from "../../../../functions/core/errors.ts";
import { newJobId } from "../../../../functions/core/jobs/ids.ts";
import type { Job, PreviewItem } from "../../../../functions/core/jobs/model.ts";
import { NOW } from "../../../contract/fixtures.ts";
import { fullJob, queuedJob } from "../../../contract/jobs.contract.ts";
import { STORE_TARGETS } from "../../../helpers/dynamo.ts";
import { countingClient, useStore } from "../../../helpers/store.ts";

/** Every attribute a GSI keys on: a job item must carry none, so it is in no index and costs nothing there. */
const INDEX_KEYS = Object.values(TABLE.indexes).flatMap((index) => [index.partitionKey, index.sortKey]);

/** A client whose calls matching `fails` throw as a failing DynamoDB would (a crash between two writes). */
function failingClient(
  client: DynamoDBDocumentClient,
  fails: (name: string, input: Record<string, unknown>) => boolean,
): DynamoDBDocumentClient {
  const failing = Object.create(client) as DynamoDBDocumentClient;
  failing.send = ((
    command: { constructor: { name: string }; input: Record<string, unknown> },
    ...rest: unknown[]
  ) => {
    if (fails(command.constructor.name, command.input)) {
      return Promise.reject(Object.assign(new Error("injected"), { name: "InternalServerError" }));
    }
    return (client.send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as DynamoDBDocumentClient["send"];
  return failing;
}

/** The key a write or delete goes to. */
const keyOf = (input: Record<string, unknown>) =>
  (input.Item ?? input.Key) as { pk?: string; sk?: string } | undefined;

/** Read units reported for one operation. */
const unitsOf = (
  reports: readonly { operation: string; consumed: readonly ConsumedCapacity[] }[],
  operation: string,
) =>
  reports
    .filter((report) => report.operation === operation)
    .flatMap((report) => report.consumed)
    .reduce((sum, consumed) => sum + (consumed.CapacityUnits ?? 0), 0);

/** A dry run's preview at its cap: 100 messages, each `bytes` of text before and after. */
const bigPreview = (bytes: number): PreviewItem[] =>
  Array.from({ length: 100 }, (_, i) => ({
    id: `c2c_${i}`,
    before: { text: "a".repeat(bytes), customData: '{"k":1}' },
    after: { text: "b".repeat(bytes), customData: '{"k":1}' },
  }));

describe.each(STORE_TARGETS)("DynamoStore jobs on $name", (target) => {
  const { store, storeWith, table } = useStore(target);
  const rawItem = async (pk: string, sk: string) => {
    const { client, tableName } = table();
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return Item as Record<string, unknown> | undefined;
  };
  const rawJob = async (id: string) => (await rawItem(JOBS_PK, id)) ?? {};
  const rawMarkers = async () => {
    const { client, tableName } = table();
    const { Items } = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": ACTIVE_JOBS_PK },
        ConsistentRead: true,
      }),
    );
    return Items ?? [];
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

  it("counts its calls: 2 to create, 1 per progress write, 2 to finish, 3 to resume; no index touched", async () => {
    const counted = countingClient(table().client);
    const reports: { operation: string; consumed: readonly ConsumedCapacity[] }[] = [];
    const jobs = storeWith(
      { onCapacity: (operation, consumed) => reports.push({ operation, consumed }) },
      counted.client,
    );
    const job = queuedJob({ id: newJobId(NOW) });
    const calls = async (run: () => Promise<unknown>) => {
      counted.calls.length = 0;
      await run();
      return [...counted.calls];
    };
    expect(await calls(() => jobs.createJob(job))).toEqual(["PutCommand", "PutCommand"]);
    expect(await calls(() => jobs.getJob(job.id))).toEqual(["GetCommand"]);
    expect(await calls(() => jobs.putJob({ ...job, status: "running", rev: 1 }, 0))).toEqual(["PutCommand"]);
    expect(await calls(() => jobs.listJobs({ limit: 5 }))).toEqual(["QueryCommand"]);
    expect(await calls(() => jobs.activeJobs())).toEqual(["QueryCommand", "BatchGetCommand"]);
    expect(await calls(() => jobs.putJob({ ...job, status: "cancelled", rev: 2 }, 1))).toEqual([
      "PutCommand",
      "DeleteCommand",
    ]);
    expect((await jobs.activeJobs()).map((active) => active.id)).not.toContain(job.id);
    // Resume: the write conditional on an active job is refused, then the marker, then the job.
    expect(await calls(() => jobs.putJob({ ...job, status: "queued", rev: 3 }, 2))).toEqual([
      "PutCommand",
      "PutCommand",
      "PutCommand",
    ]);
    expect((await jobs.activeJobs()).map((active) => active.id)).toContain(job.id);
    const writes = reports.filter((report) =>
      ["createJob", "putJob", "activeMarker"].includes(report.operation),
    );
    expect(writes.length).toBeGreaterThanOrEqual(7);
    for (const write of writes) {
      expect(write.consumed[0]?.GlobalSecondaryIndexes).toBeUndefined();
      expect(write.consumed[0]?.CapacityUnits).toBe(1);
    }
  });

  it("keeps a marker to the job's key, a rev and a time: no index key, no TTL", async () => {
    const job = queuedJob({ id: newJobId(NOW) });
    await store().createJob(job);
    expect(await rawItem(ACTIVE_JOBS_PK, job.id)).toEqual({
      pk: ACTIVE_JOBS_PK,
      sk: job.id,
      rev: 0,
      at: expect.any(Number),
    });
    const finished = fullJob({ id: newJobId(NOW), status: "done" });
    await store().createJob(finished);
    expect(await rawItem(ACTIVE_JOBS_PK, finished.id)).toBeUndefined();
  });

  it("round-trips a job with a full preview (100 messages) well under the 400 KB item limit", async () => {
    const job = fullJob({ id: newJobId(NOW), status: "done", preview: bigPreview(1_000) });
    expect(await store().createJob(job)).toBe(true);
    const size = itemSize(await rawJob(job.id));
    expect(size).toBeGreaterThan(200_000);
    expect(size).toBeLessThan(400 * 1024);
    expect(await store().getJob(job.id)).toEqual(job);
  });

  it("reads no finished job: the active set costs its own jobs, however many MB the finished ones hold", async () => {
    const counted = countingClient(table().client);
    const reports: { operation: string; consumed: readonly ConsumedCapacity[] }[] = [];
    const own = storeWith(
      { onCapacity: (operation, consumed) => reports.push({ operation, consumed }) },
      counted.client,
    );
    // Six finished dry runs of ~250 KB each (1.5 MB: two Query pages of the jobs partition), one of
    // them active before it finished.
    const old = queuedJob({ id: newJobId(NOW - 10_000) });
    await own.createJob(old);
    for (let i = 0; i < 5; i++) {
      await own.createJob(
        fullJob({ id: newJobId(NOW - 5_000 + i), status: "done", preview: bigPreview(1_200) }),
      );
    }
    const finishing = fullJob({ id: newJobId(NOW), status: "running", preview: bigPreview(1_200) });
    await own.createJob(finishing);
    expect(await own.putJob({ ...finishing, status: "done", rev: 1 }, 0)).toBe(true);
    const recent = fullJob({ id: newJobId(NOW + 1_000), status: "running" });
    await own.createJob(recent);
    counted.calls.length = 0;
    reports.length = 0;
    const active = (await own.activeJobs()).map((job: Job) => job.id);
    expect(active).toContain(old.id);
    expect(active).toContain(recent.id);
    expect(active).not.toContain(finishing.id);
    expect(counted.calls).toEqual(["QueryCommand", "BatchGetCommand"]);
    // The markers (a few bytes each) and the few small active jobs of this file: a handful of read
    // units, where the finished jobs alone would be ~400 (1.5 MB at 4 KB per unit).
    const markers = await rawMarkers();
    expect(unitsOf(reports, "activeJobs")).toBeGreaterThan(0);
    expect(unitsOf(reports, "activeJobs")).toBeLessThanOrEqual(1 + markers.length);
  });

  it("reads the jobs of more than 100 markers in batches of 100", async () => {
    const own = store();
    for (let i = 0; i < 101; i++) await own.createJob(queuedJob({ id: newJobId(NOW + 2_000 + i) }));
    const counted = countingClient(table().client);
    const active = await storeWith({}, counted.client).activeJobs();
    const markers = await rawMarkers();
    expect(active).toHaveLength(markers.length);
    expect(counted.calls).toEqual([
      "QueryCommand",
      ...Array.from({ length: Math.ceil(markers.length / 100) }, () => "BatchGetCommand"),
    ]);
    // Leave them finished: the next cases count their own markers.
    for (const job of active) await own.putJob({ ...job, status: "cancelled", rev: job.rev + 1 }, job.rev);
    expect(await rawMarkers()).toEqual([]);
  });

  it("hides a job whose write failed after its marker, and drops the marker once the grace is over", async () => {
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    const crashing = storeWith(
      clock,
      failingClient(table().client, (name, input) => name === "PutCommand" && keyOf(input)?.pk === JOBS_PK),
    );
    const lost = queuedJob({ id: newJobId(now) });
    await expect(crashing.createJob(lost)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await rawItem(ACTIVE_JOBS_PK, lost.id)).toBeDefined();

    const counted = countingClient(table().client);
    const own = storeWith(clock, counted.client);
    expect(await own.activeJobs()).toEqual([]);
    // Within the grace the job write may still be on its way (createJob one call behind): kept.
    expect(counted.calls).toEqual(["QueryCommand", "BatchGetCommand"]);
    expect(await rawItem(ACTIVE_JOBS_PK, lost.id)).toBeDefined();

    now += MARKER_GRACE_MS + 1;
    counted.calls.length = 0;
    expect(await own.activeJobs()).toEqual([]);
    expect(counted.calls).toEqual(["QueryCommand", "BatchGetCommand", "DeleteCommand"]);
    expect(await rawItem(ACTIVE_JOBS_PK, lost.id)).toBeUndefined();
    counted.calls.length = 0;
    expect(await own.activeJobs()).toEqual([]);
    expect(counted.calls).toEqual(["QueryCommand"]);
  });

  it("keeps a resume's marker while its job write is on the way, and drops a finished job's leftover at once", async () => {
    const clock = { now: () => new Date() };
    const job = queuedJob({ id: newJobId(NOW) });
    await store().createJob(job);
    // The marker's delete fails after the job finished: a leftover, harmless.
    const noDelete = storeWith(
      clock,
      failingClient(table().client, (name) => name === "DeleteCommand"),
    );
    expect(await noDelete.putJob({ ...job, status: "cancelled", rev: 1 }, 0)).toBe(true);
    expect(await rawItem(ACTIVE_JOBS_PK, job.id)).toBeDefined();
    const counted = countingClient(table().client);
    const own = storeWith(clock, counted.client);
    expect(await own.activeJobs()).toEqual([]);
    expect(counted.calls).toEqual(["QueryCommand", "BatchGetCommand", "DeleteCommand"]);
    expect(await rawItem(ACTIVE_JOBS_PK, job.id)).toBeUndefined();

    // A resume whose job write has not happened yet (it failed here): the job still reads cancelled, and
    // its marker stays, so the write that follows is not hidden.
    let jobWrites = 0;
    const noJobWrite = storeWith(
      clock,
      // The first job write (conditional on an active job) is refused by DynamoDB; the second fails here.
      failingClient(table().client, (name, input) => {
        if (name !== "PutCommand" || keyOf(input)?.pk !== JOBS_PK) return false;
        jobWrites += 1;
        return jobWrites === 2;
      }),
    );
    await expect(noJobWrite.putJob({ ...job, status: "queued", rev: 2 }, 1)).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(await own.activeJobs()).toEqual([]);
    expect(await rawItem(ACTIVE_JOBS_PK, job.id)).toMatchObject({ rev: 2 });
    expect(await own.putJob({ ...job, status: "queued", rev: 2 }, 1)).toBe(true);
    expect(await own.activeJobs()).toEqual([{ ...job, status: "queued", rev: 2 }]);
    expect(await own.putJob({ ...job, status: "done", rev: 3 }, 2)).toBe(true);
    expect(await rawMarkers()).toEqual([]);
  });
});
