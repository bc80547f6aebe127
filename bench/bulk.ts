import { request } from "undici";
import { APP_ID } from "./callbacks.ts";
import {
  API_TOKEN,
  type EditStack,
  inChunks,
  type SentMessage,
  SimulatorProbe,
  sendMessages,
  startEditStack,
  textOf,
} from "./edit-stack.ts";
import type { BenchmarkResult } from "./report.ts";
import { maxInWindow, rollingCounts } from "./rolling-windows.ts";

/**
 * Benchmark "bulk": one bulk job (`POST /v1/edits`) over N Tencent messages through npm start's stack
 * (persisted SQLite store, default log level) against the simulator. The job runs at the provider's
 * configured rate (180 per 1 s by default), so the physical floor is N / rate seconds; the goal is an
 * achieved rate ≥ 0.95 × the configured one end to end, and no 60007 from the simulator.
 *
 * N defaults to 10,000 (the figure): about a minute to send them through sendmsg (≤ 190/s), and
 * as long again for the job. `BENCH_BULK_MESSAGES` runs a smaller one (labelled as such).
 */
const RATE = 180;
const WINDOW_MS = 1_000;
const GOAL_RATIO = 0.95;
const POLL_MS = 250;

interface JobView {
  readonly id: string;
  readonly status: string;
  readonly matched: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ratePerSec?: number;
  readonly etaSeconds?: number;
}

export async function bulkEdit(
  messages = Number(process.env.BENCH_BULK_MESSAGES ?? 10_000),
): Promise<BenchmarkResult> {
  const edit = await startEditStack({
    TENCENT_RATE_LIMIT: String(RATE),
    TENCENT_RATE_WINDOW_MS: String(WINDOW_MS),
  });
  let probe: SimulatorProbe | undefined;
  try {
    const prepareStarted = performance.now();
    const sent = await sendMessages(edit, messages, "bk");
    const prepareMs = performance.now() - prepareStarted;

    probe = new SimulatorProbe(edit.sim.url, "/v4/openim/modify_c2c_msg");
    const cpu = process.cpuUsage();
    const started = performance.now();
    const created = await api(edit, "POST", "/v1/edits", {
      selector: { provider: "tencent", appId: APP_ID, text: `^hello \\d+$` },
      action: { replace: { pattern: "hello", with: `bulk ${edit.run}` } },
    });
    if (created.status !== 202) throw new Error(`POST /v1/edits answered ${created.status}: ${created.text}`);
    const { id } = JSON.parse(created.text) as { id: string };
    let view: JobView;
    let firstMatchedAt: number | undefined;
    for (;;) {
      const got = await api(edit, "GET", `/v1/edits/${id}`);
      view = JSON.parse(got.text) as JobView;
      if (firstMatchedAt === undefined && view.matched >= messages) firstMatchedAt = performance.now();
      if (["done", "failed", "cancelled"].includes(view.status)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const finished = performance.now();
    const cpuMs = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000;
    const arrivals = [...probe.arrivals].sort((a, b) => a - b);
    const first = arrivals[0] ?? started;
    const last = arrivals.at(-1) ?? finished;
    const elapsedS = (finished - started) / 1000;
    const floorS = messages / RATE;
    const endToEnd = view.done / elapsedS;
    const steady = rollingCounts(arrivals, first + WINDOW_MS, last - WINDOW_MS, WINDOW_MS);
    const stats = edit.sim.stats;
    const checks = await verify(edit, sent, id);
    return {
      title: `bulk job over ${messages.toLocaleString("en")} Tencent messages through npm start's stack (persisted SQLite store, default log level) against the simulator at ${RATE}/s`,
      rows: [
        {
          metric: "job status / matched / done / failed / skipped",
          value: `${view.status} / ${view.matched} / ${view.done} / ${view.failed} / ${view.skipped}`,
        },
        { metric: "time, POST to done", value: elapsedS, unit: "s", digits: 1 },
        { metric: "physical floor (messages / rate)", value: floorS, unit: "s", digits: 1 },
        {
          summary: `bulk job of ${messages} messages, end to end: achieved / configured rate`,
          metric: "achieved / configured (done / time from POST to done / rate)",
          value: endToEnd / RATE,
          unit: "x",
          digits: 3,
          goal: { op: ">=", limit: GOAL_RATIO },
        },
        {
          summary: `bulk job of ${messages} messages: simulator 60007`,
          metric: "simulator 60007 on modify_c2c_msg",
          value: stats.rateLimited.modify_c2c_msg ?? 0,
          digits: 0,
          goal: { op: "<=", limit: 0 },
        },
        {
          metric: "simulator modify calls / applied",
          value: `${stats.calls.modify_c2c_msg ?? 0} / ${stats.applied.modify_c2c_msg ?? 0}`,
        },
        {
          metric: "simulator arrivals per 1 s, steady mean / max any",
          value: `${steady.mean.toFixed(1)} / ${maxInWindow(arrivals, WINDOW_MS)}`,
        },
        {
          metric: "counting pass (matched = N)",
          value:
            firstMatchedAt === undefined
              ? "never"
              : `${((firstMatchedAt - started) / 1000).toFixed(1)} s after POST`,
        },
        {
          metric: "CPU per edited message (this process)",
          value: cpuMs / Math.max(1, view.done),
          unit: "ms",
        },
        {
          metric: "messages: one version with the job's id, simulator shows the edit",
          value: `${checks.ok} / ${checks.checked} ok`,
        },
      ],
      notes: [
        `${messages} C2C messages sent through sendmsg first (${(prepareMs / 1000).toFixed(1)} s, ≤ 190/s), each recorded from its after-send callback`,
        `the job: selector { provider, appId, text: "^hello \\d+$" }, action replace "hello" → "bulk <run>"; status polled every ${POLL_MS} ms`,
        "achieved = done / (time from the POST to the answer that says done), so the counting pass and the job's start count against it",
        ...checks.problems.slice(0, 3),
      ],
    };
  } finally {
    probe?.close();
    await edit.close();
  }
}

async function api(edit: EditStack, method: string, path: string, body?: unknown) {
  const response = await request(`${edit.stack.url}${path}`, {
    method: method as "GET" | "POST",
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Every message: exactly one version with this job's id, and the simulator holds the edited text. */
async function verify(edit: EditStack, sent: readonly SentMessage[], jobId: string) {
  const problems: string[] = [];
  const results = await inChunks(sent, async (message) => {
    const versions = await edit.stack.deps.store.recentVersions(message.id, 10);
    const byJob = versions.filter((v) => v.jobId === jobId);
    const head = await edit.stack.deps.store.getHead(message.id);
    const simulated = edit.sim.c2cMessage(message.from, message.to, message.msgKey);
    const text = textOf(head?.content?.MsgBody);
    const ok =
      byJob.length === 1 &&
      text?.startsWith(`bulk ${edit.run}`) === true &&
      (simulated === undefined || textOf(simulated.MsgBody) === text);
    if (!ok && problems.length < 3)
      problems.push(`${message.id}: ${byJob.length} versions by the job, head text ${JSON.stringify(text)}`);
    return ok;
  });
  return { checked: sent.length, ok: results.filter(Boolean).length, problems };
}
