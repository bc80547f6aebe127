import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import {
  createJob,
  type JobBody,
  type SeededMessage,
  seedMessages,
  startJobStack,
  startTencent,
  tencentSender,
  waitForJob,
} from "../../helpers/jobs.ts";
import { API_TOKEN, api } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

interface VersionBody {
  version: number;
  source: string;
  jobId?: string;
  ruleId?: string;
  content: { MsgBody?: { MsgContent?: { Text?: string } }[]; CloudCustomData?: string };
}

const RULES = {
  rules: [
    {
      id: "redact-digits",
      // Before-send: the simulator sends no before-send callbacks, so only the jobs below apply it.
      on: "before-send",
      match: { provider: "tencent", text: "\\d{3}" },
      action: { redact: { pattern: "\\d{3}", mask: "***" } },
    },
  ],
};

describe("bulk jobs over HTTP against the Tencent simulator", () => {
  let tencent: Awaited<ReturnType<typeof startTencent>>;
  let stack: LocalStack;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "im-edit-rules-"));
    const rulesFile = join(dir, "rules.json");
    await writeFile(rulesFile, JSON.stringify(RULES));
    tencent = await startTencent();
    // A modest rate, so a job of 60 messages runs long enough to be cancelled in the middle.
    stack = await startJobStack(tencent, { env: { IM_EDIT_RULES: rulesFile, TENCENT_RATE_LIMIT: "40" } });
  });
  afterAll(async () => {
    await stack?.close();
    await tencent?.close();
  });

  const idOf = async (message: SeededMessage) => {
    const found = await api(
      stack.url,
      `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${message.msgKey}&from=${message.from}&to=${message.to}`,
    );
    return (found.body as { id: string }).id;
  };
  const versions = async (id: string) =>
    ((await api(stack.url, `/v1/messages/${id}/versions`)).body as { items: VersionBody[] }).items;
  const textOf = (version: VersionBody | undefined) => version?.content.MsgBody?.[0]?.MsgContent?.Text;
  const modifyCalls = () => tencent.sim.stats.applied.modify_c2c_msg ?? 0;
  const selector = (sender: string, extra: Record<string, unknown> = {}) => ({
    provider: "tencent",
    appId: APP_ID,
    sender,
    ...extra,
  });

  it("dry run: a preview of what would change, no provider call, done stays 0", async () => {
    // Prepare
    const hello = await seedMessages(stack, 5, (i) => `hello ${i}`);
    const from = hello[0]?.from ?? "";
    await seedMessages(stack, 2, (i) => `other ${i}`, from);
    const calls = modifyCalls();
    // Act
    const created = await createJob(stack.url, {
      selector: selector(from, { text: "^hello" }),
      action: { replace: { pattern: "hello", with: "bye" } },
      dryRun: true,
    });
    // Assess
    expect(created.status).toBe(202);
    const { id } = created.body as { id: string };
    expect(created.headers.location).toBe(`/v1/edits/${id}`);
    const job = await waitForJob(stack.url, id);
    expect(job).toMatchObject({ status: "done", dryRun: true, matched: 5, done: 0, failed: 0, skipped: 0 });
    expect(job.preview?.map((item) => [item.before.text, item.after.text]).sort()).toEqual(
      hello.map((m) => [m.text, m.text.replace("hello", "bye")]).sort(),
    );
    expect(modifyCalls()).toBe(calls);
    expect((await versions(job.preview?.[0]?.id ?? "")).length).toBe(1);
  });

  it("edits every selected message once: versions carry the jobId and source api", async () => {
    // Prepare
    const messages = await seedMessages(stack, 12, (i) => `note ${i}`);
    const calls = modifyCalls();
    // Act
    const created = await createJob(stack.url, {
      selector: selector(messages[0]?.from ?? ""),
      edit: { text: "moderated" },
    });
    const { id } = created.body as { id: string };
    const job = await waitForJob(stack.url, id);
    // Assess
    expect(job).toMatchObject({ status: "done", matched: 12, done: 12, failed: 0, skipped: 0 });
    expect(modifyCalls() - calls).toBe(12);
    for (const message of messages) {
      const history = await versions(await idOf(message));
      expect(history.map((v) => [v.version, v.source, v.jobId])).toEqual([
        [1, "callback", undefined],
        [2, "api", id],
      ]);
      expect(textOf(history[1])).toBe("moderated");
      expect(tencent.sim.c2cMessage(message.from, message.to, message.msgKey)?.MsgBody).toEqual([
        { MsgType: "TIMTextElem", MsgContent: { Text: "moderated" } },
      ]);
    }
  });

  it("a rule job applies the loaded rule where its own match holds: source auto, ruleId", async () => {
    // Prepare
    const messages = await seedMessages(stack, 4, (i) =>
      i < 2 ? `call 555-${i}00` : `no digits ${"x".repeat(i)}`,
    );
    // Act
    const created = await createJob(stack.url, {
      selector: selector(messages[0]?.from ?? ""),
      rule: "redact-digits",
    });
    const job = await waitForJob(stack.url, (created.body as { id: string }).id);
    // Assess: the rule's match narrows the selection to the two messages with digits
    expect(job).toMatchObject({ status: "done", matched: 2, done: 2, skipped: 0 });
    const history = await versions(await idOf(messages[0] as SeededMessage));
    expect(history[1]).toMatchObject({ source: "auto", ruleId: "redact-digits", jobId: job.id });
    expect(textOf(history[1])).toBe("call ***-***");
  });

  it("counts skipped messages: recalled ones and those the action leaves unchanged", async () => {
    // Prepare
    const messages = await seedMessages(stack, 4, (i) => (i === 0 ? "already done" : `todo ${i}`));
    const recalled = messages[1] as SeededMessage;
    await tencentApp(stack).recallC2C(recalled.from, recalled.to, recalled.msgKey);
    // Act
    const created = await createJob(stack.url, {
      selector: selector(recalled.from),
      action: { replaceText: { text: "already done" } },
    });
    const job = await waitForJob(stack.url, (created.body as { id: string }).id);
    // Assess
    expect(job).toMatchObject({ status: "done", matched: 4, done: 2, failed: 0, skipped: 2 });
  });

  it("refuses bad requests with 400 and creates no job", async () => {
    const before = ((await api(stack.url, "/v1/edits?limit=100")).body as { items: unknown[] }).items.length;
    const base = selector("someone");
    const bad: [unknown, string?][] = [
      [{ selector: base }],
      [{ selector: base, edit: { text: "x" }, action: { replaceText: { text: "y" } } }],
      [{ selector: base, rule: "no-such-rule" }, "no-such-rule"],
      [{ selector: { ...base, text: "(" }, edit: { text: "x" } }],
      [
        {
          selector: { ...base, since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" },
          edit: { text: "x" },
        },
      ],
      [{ selector: { ...base, since: "yesterday" }, edit: { text: "x" } }],
      [{ selector: { appId: APP_ID }, edit: { text: "x" } }],
      [{ selector: base, edit: { text: "x" }, extra: 1 }],
      [{ selector: base, action: { redact: { mask: "x" } } }],
      [{ selector: base, edit: { MsgBody: "not elements" } }],
      [{ selector: { ...base, provider: "nosuch" }, edit: { text: "x" } }],
    ];
    for (const [body, named] of bad) {
      const reply = await createJob(stack.url, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      const error = (reply.body as { error: { code: string; message: string; details?: unknown } }).error;
      if (named) expect(JSON.stringify(error)).toContain(named);
    }
    const after = ((await api(stack.url, "/v1/edits?limit=100")).body as { items: unknown[] }).items.length;
    expect(after).toBe(before);
  });

  it("lists jobs newest first, paginated; unknown ids are 404; resuming a done job is 409", async () => {
    const first = await createJob(stack.url, { selector: selector("nobody-1"), edit: { text: "x" } });
    const second = await createJob(stack.url, { selector: selector("nobody-2"), edit: { text: "x" } });
    const ids = [first, second].map((reply) => (reply.body as { id: string }).id);
    await waitForJob(stack.url, ids[1] ?? "");
    const page = (await api(stack.url, "/v1/edits?limit=1")).body as { items: JobBody[]; nextToken?: string };
    expect(page.items.map((job) => job.id)).toEqual([ids[1]]);
    const next = (
      await api(stack.url, `/v1/edits?limit=1&nextToken=${encodeURIComponent(page.nextToken ?? "")}`)
    ).body as { items: JobBody[] };
    expect(next.items.map((job) => job.id)).toEqual([ids[0]]);
    expect((await api(stack.url, "/v1/edits/job_nope")).status).toBe(404);
    expect((await api(stack.url, "/v1/edits/job_00000000000000000000000000")).status).toBe(404);
    const resumed = await send(stack.url, "POST", `/v1/edits/${ids[1]}/resume`);
    expect(resumed.status).toBe(409);
  });

  it("cancel: no provider call starts after the answer; resume finishes the rest, one version per message", async () => {
    // Prepare: 100 messages at 40 calls/s (2.5 s)
    const messages = await seedMessages(stack, 100, (i) => `bulk ${i}`);
    const created = await createJob(stack.url, {
      selector: selector(messages[0]?.from ?? ""),
      edit: { text: "cancelled midway" },
    });
    const { id } = created.body as { id: string };
    await waitForJob(stack.url, id, (job) => job.done >= 5);
    // Act
    const cancelled = await send(stack.url, "POST", `/v1/edits/${id}/cancel`);
    const answeredAt = Date.now();
    // Assess
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The proxy and this client share one event loop: a call sent just before the answer can be logged
    // a moment after the client read the answer, hence a few milliseconds of tolerance.
    const late = tencent.modifies().filter((call) => call.at > answeredAt + 25);
    expect(late.map((call) => call.at - answeredAt)).toEqual([]);
    const stopped = await waitForJob(stack.url, id);
    expect(stopped.status).toBe("cancelled");
    expect(stopped.done).toBeLessThan(100);
    // Act: resume
    const resumed = await send(stack.url, "POST", `/v1/edits/${id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.headers.location).toBe(`/v1/edits/${id}`);
    const finished = await waitForJob(stack.url, id, (job) => job.status === "done");
    // Assess
    expect(finished).toMatchObject({ status: "done", matched: 100, done: 100, failed: 0, skipped: 0 });
    for (const message of messages) {
      const history = await versions(await idOf(message));
      expect(history.filter((v) => v.jobId === id)).toHaveLength(1);
    }
  }, 60_000);
  it("npm run jobs: watch draws the progress until the job ends, list shows it", async () => {
    // Prepare
    const messages = await seedMessages(stack, 20, (i) => `watch ${i}`);
    const created = await createJob(stack.url, {
      selector: selector(messages[0]?.from ?? ""),
      edit: { text: "watched" },
    });
    const { id } = created.body as { id: string };
    // Act
    const watched = await cli(["watch", id]);
    const listed = await cli(["list"]);
    // Assess: one line a second off a terminal, the last one complete
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split("\n");
    expect(lines.at(-1)).toMatch(
      /^\[#+\]\s+100%\s+20\/20\s+done 20 · failed 0 · skipped 0\s+\d+\.\d\/s\s+done$/,
    );
    expect(listed.stdout).toContain(`${id}  edit  done`);
    expect((await cli(["resume", id])).stderr).toContain("409 job_finished");
  }, 30_000);

  /** `npm run jobs -- <args>` against this stack. */
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "local/jobs.ts", ...args],
        {
          env: { ...process.env, IM_EDIT_API_URL: stack.url, IM_EDIT_API_TOKEN: API_TOKEN },
          timeout: 20_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  }
});

describe("reconcile jobs over HTTP against the Tencent simulator", () => {
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

  it("pages the history and records what no callback reported; existing records stay as they are", async () => {
    // Prepare: 120 messages of one pair, 70 of them sent while callbacks were lost
    const since = new Date(Date.now() - 60_000).toISOString();
    const sender = tencentSender(tencent);
    const sendAll = async (texts: string[]) => {
      const keys: string[] = [];
      for (const text of texts) keys.push(await sender.sendC2C("alice-r", "bob-r", text));
      return keys;
    };
    tencent.sim.setCallbackUrl(undefined);
    const lost = await sendAll(Array.from({ length: 70 }, (_, i) => `lost ${i}`));
    tencent.sim.setCallbackUrl(`${stack.url}/callbacks/tencent`);
    await sendAll(Array.from({ length: 50 }, (_, i) => `called ${i}`));
    const until = new Date(Date.now() + 60_000).toISOString();
    const historyCalls = tencent.sim.stats.applied.admin_getroammsg ?? 0;
    // Act
    const created = await send(stack.url, "POST", "/v1/reconcile", {
      provider: "tencent",
      appId: APP_ID,
      pair: ["alice-r", "bob-r"],
      since,
      until,
    });
    // Assess
    expect(created.status).toBe(202);
    const { id } = created.body as { id: string };
    expect(created.headers.location).toBe(`/v1/edits/${id}`);
    const job = await waitForJob(stack.url, id);
    expect(job).toMatchObject({
      kind: "reconcile",
      status: "done",
      matched: 120,
      done: 70,
      skipped: 50,
      failed: 0,
    });
    expect((tencent.sim.stats.applied.admin_getroammsg ?? 0) - historyCalls).toBeGreaterThan(1);
    const found = await api(
      stack.url,
      `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${lost[0]}&from=alice-r&to=bob-r`,
    );
    expect(found.status).toBe(200);
    const history = (await api(stack.url, `/v1/messages/${(found.body as { id: string }).id}/versions`))
      .body as {
      items: { source: string }[];
    };
    expect(history.items.map((v) => v.source)).toEqual(["reconcile"]);
  }, 60_000);

  it("refuses a spec the provider cannot page with 400, and no job", async () => {
    const base = { provider: "tencent", appId: APP_ID, since: "2026-01-01", until: "2026-01-02" };
    const jobs = async () => ((await api(stack.url, "/v1/edits")).body as { items: unknown[] }).items.length;
    const before = await jobs();
    expect((await send(stack.url, "POST", "/v1/reconcile", base)).status).toBe(400);
    expect(
      (await send(stack.url, "POST", "/v1/reconcile", { ...base, appId: "999", pair: ["a", "b"] })).status,
    ).toBe(400);
    expect(
      (await send(stack.url, "POST", "/v1/reconcile", { ...base, pair: ["a", "b"], since: "2026-01-03" }))
        .status,
    ).toBe(400);
    expect(await jobs()).toBe(before);
  });
});
