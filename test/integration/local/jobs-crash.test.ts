import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJob, seedMessages, startTencent, tencentSender, waitForJob } from "../../helpers/jobs.ts";
import { API_TOKEN, api, CALLBACK_TOKEN } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";

/**
 * Crash and resume: `npm start` (local/start.ts, the persisted embedded store) runs a bulk job and is
 * killed with SIGKILL in the middle of it; a new one on the same DATA_DIR takes the job over by itself.
 * The simulator runs in this process, so it outlives the crash and counts every modify call.
 */
describe("a bulk job survives kill -9 of npm start", () => {
  const MESSAGES = 80;
  let tencent: Awaited<ReturnType<typeof startTencent>>;
  let dataDir: string;
  let port: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tencent = await startTencent();
    dataDir = await mkdtemp(join(tmpdir(), "im-edit-crash-"));
    port = await freePort();
    tencent.sim.setCallbackUrl(`http://127.0.0.1:${port}/callbacks/tencent`);
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await tencent?.close();
  });

  /** `npm start` as a child process; resolves once it listens. */
  async function start(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
    const child = spawn(process.execPath, ["--import", "tsx", "local/start.ts"], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        DATA_DIR: dataDir,
        IM_EDIT_API_TOKEN: API_TOKEN,
        TENCENT_SDKAPPID: APP_ID,
        TENCENT_CALLBACK_TOKEN: CALLBACK_TOKEN,
        ...tencent.env,
        // A modest rate, so the job is still running when the process is killed.
        TENCENT_RATE_LIMIT: "40",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 30_000;
    while (!output.includes("listening on")) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start failed:\n${output}`);
      await sleep(50);
    }
    return { child, url: `http://127.0.0.1:${port}`, output: () => output };
  }

  it("goes on by itself after a restart: one version per message, calls ≤ messages + crashes", async () => {
    // Prepare
    const first = await start();
    const messages = await seedMessages(tencentSender(tencent), MESSAGES, (i) => `crash ${i}`);
    await waitForMessages(first.url, messages[0]?.from ?? "", MESSAGES);
    const created = await createJob(first.url, {
      selector: { provider: "tencent", appId: APP_ID, sender: messages[0]?.from },
      edit: { text: "edited through a crash" },
    });
    expect(created.status).toBe(202);
    const { id } = created.body as { id: string };
    await waitForJob(first.url, id, (job) => job.done >= 20);
    // Act: kill -9 in the middle, then a new start on the same data
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));
    const crashes = 1;
    const second = await start();
    const restartedAt = Date.now();
    // Assess: it goes on within 30 s of the start, and finishes
    const before = (await waitForJob(second.url, id, () => true)).done;
    const moving = await waitForJob(
      second.url,
      id,
      (job) => job.done > before || job.status === "done",
      30_000,
    );
    expect(moving.done > before || moving.status === "done", second.output()).toBe(true);
    expect(Date.now() - restartedAt).toBeLessThan(30_000);
    const job = await waitForJob(second.url, id, (view) => view.status === "done", 60_000);
    expect(job, second.output()).toMatchObject({
      status: "done",
      matched: MESSAGES,
      done: MESSAGES,
      failed: 0,
    });
    expect(tencent.sim.stats.applied.modify_c2c_msg ?? 0).toBeLessThanOrEqual(MESSAGES + crashes);
    for (const message of messages) {
      const found = await api(
        second.url,
        `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${message.msgKey}&from=${message.from}&to=${message.to}`,
      );
      const recordId = (found.body as { id: string }).id;
      const history = (await api(second.url, `/v1/messages/${recordId}/versions`)).body as {
        items: { jobId?: string }[];
      };
      expect(history.items.filter((version) => version.jobId === id)).toHaveLength(1);
      expect(tencent.sim.c2cMessage(message.from, message.to, message.msgKey)?.MsgBody).toEqual([
        { MsgType: "TIMTextElem", MsgContent: { Text: "edited through a crash" } },
      ]);
    }
    second.child.kill("SIGTERM");
  }, 120_000);
});

/** Waits until the local stack has recorded `count` messages of the sender (their callbacks arrived). */
async function waitForMessages(url: string, sender: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const page = await api(url, `/v1/messages?provider=tencent&appId=${APP_ID}&sender=${sender}&limit=100`);
    if (((page.body as { items?: unknown[] }).items?.length ?? 0) >= count || Date.now() > deadline) return;
    await sleep(100);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const free = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(free));
    });
  });
}
