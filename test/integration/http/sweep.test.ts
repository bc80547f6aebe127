import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJobId } from "../../../functions/core/jobs/ids.ts";
import type { Job } from "../../../functions/core/jobs/model.ts";
import { handler } from "../../../functions/editor.ts";
import { lambdaContext } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { seedMessages, startJobStack, startTencent, waitForJob } from "../../helpers/jobs.ts";
import { APP_ID } from "../../helpers/tencent.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `{ "action": "sweepJobs" }` by direct invoke of the editor's handler (what the schedule sends in AWS),
 * on the local stack: a job whose runner stopped without a word mid-slice goes on from its checkpoint
 * and finishes; a job a live runner holds is left alone.
 */
describe("sweepJobs by direct invoke", () => {
  let tencent: Awaited<ReturnType<typeof startTencent>>;
  let stack: LocalStack;

  beforeAll(async () => {
    tencent = await startTencent();
    stack = await startJobStack(tencent);
  });
  afterAll(async () => {
    await stack?.close();
    await tencent?.close();
  });

  const sweep = async () =>
    (await handler({ action: "sweepJobs" }, lambdaContext("editor"))) as {
      status: number;
      body: { resumed: string[] };
    };

  /** A job as a runner elsewhere left it: holding it until `until` (its last heartbeat at `until` - 10 s). */
  async function heldJob(sender: string, until: number): Promise<Job> {
    const job: Job = {
      id: newJobId(Date.now()),
      kind: "edit",
      status: "running",
      dryRun: false,
      selector: { provider: "tencent", appId: APP_ID, sender, until: iso(Date.now() + 1_000) },
      work: { edit: { text: "swept on" } },
      actor: "test",
      counts: { matched: 0, done: 0, failed: 0, skipped: 0 },
      runner: { owner: "run_elsewhere", until },
      createdAt: iso(until - 60_000),
      updatedAt: iso(until - 10_000),
      startedAt: iso(until - 60_000),
      rev: 7,
    };
    expect(await stack.deps.store.createJob(job)).toBe(true);
    return job;
  }

  it("resumes the job whose runner's heartbeat is stale, leaves the live one; the next sweep finds nothing", async () => {
    // Prepare: a runner that died 20 s ago (timeout, out of memory) and one that is alive elsewhere
    const messages = await seedMessages(stack, 8, (i) => `stuck ${i}`);
    const sender = messages[0]?.from ?? "";
    const crashed = await heldJob(sender, Date.now() - 10_000);
    const live = await heldJob("someone-else", Date.now() + 60_000);
    const calls = tencent.sim.stats.applied.modify_c2c_msg ?? 0;

    // Act
    const reply = await sweep();

    // Assess: only the crashed one queued, and it runs to the end from its checkpoint
    expect(reply).toEqual({ status: 200, body: { resumed: [crashed.id] } });
    const done = await waitForJob(stack.url, crashed.id);
    expect(done).toMatchObject({ status: "done", matched: 8, done: 8, failed: 0, skipped: 0 });
    expect((tencent.sim.stats.applied.modify_c2c_msg ?? 0) - calls).toBe(8);
    for (const message of messages) {
      expect(tencent.sim.c2cMessage(message.from, message.to, message.msgKey)?.MsgBody).toEqual([
        { MsgType: "TIMTextElem", MsgContent: { Text: "swept on" } },
      ]);
    }
    expect(await stack.deps.store.getJob(live.id)).toEqual(live);
    expect(await sweep()).toEqual({ status: 200, body: { resumed: [] } });
  });

  it("refuses other fields: 400, nothing swept", async () => {
    const reply = (await handler({ action: "sweepJobs", jobId: "x" }, lambdaContext("editor"))) as {
      status: number;
    };
    expect(reply.status).toBe(400);
  });
});
