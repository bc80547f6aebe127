import { Pool } from "undici";
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
import type { BenchmarkResult, Row } from "./report.ts";
import { maxInWindow, rollingCounts } from "./rolling-windows.ts";
import { type Summary, summarize } from "./stats.ts";

/**
 * Benchmark "edit-rate": sustained edits against the simulator. Many concurrent PATCHes (closed loop,
 * `concurrency` in flight, rotating over distinct messages) for a few seconds: the editor's limiter
 * (TENCENT_RATE_LIMIT per TENCENT_RATE_WINDOW_MS) should deliver close to its configured rate, and the
 * simulator (200/s per API, Tencent's default) should never answer 60007.
 *
 * On what `npm start` runs: the embedded SQLite store persisted under a temporary DATA_DIR, handlers
 * logging at the default level. The whole local stack (server, editor, recorder, store, simulator)
 * shares this process's event loop, as under `npm start`, so it may run out of CPU before the limiter
 * binds. A second run at a low configured rate shows what the limiter itself delivers when CPU is not
 * the bottleneck.
 */
export interface RatePhase {
  /** TENCENT_RATE_LIMIT for the stack (the default is 180). */
  readonly rateLimit: number;
  /** Prepared through sendmsg; edits rotate over them. */
  readonly messages: number;
  readonly durationMs: number;
}

export interface EditRateOptions {
  readonly main: RatePhase;
  /** Same load at a rate this process can carry; omitted: no second run. */
  readonly low?: RatePhase;
  readonly concurrency: number;
  /** Excluded from the rate: the start of each run. */
  readonly rampMs: number;
}

const DEFAULTS: EditRateOptions = {
  main: { rateLimit: 180, messages: 600, durationMs: 6_000 },
  low: { rateLimit: 30, messages: 300, durationMs: 5_000 },
  concurrency: 64,
  rampMs: 1_000,
};
const WINDOW_MS = 1_000;
const GOAL_RATIO = 0.95;
const REQUEST_TIMEOUT_MS = 15_000;

export interface Answer {
  readonly message: number;
  readonly text: string;
  readonly status: number;
  readonly startedAt: number;
  readonly doneAt: number;
}

interface PhaseResult {
  readonly phase: RatePhase;
  readonly prepareMs: number;
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  /** Successful edits per second, mean of rolling windows over the steady part. */
  readonly achieved: number;
  readonly steady: { readonly min: number; readonly max: number };
  readonly simSteadyMean: number;
  readonly simMaxInWindow: number;
  readonly answerMs: Summary;
  /** What the limiter can deliver at that answer time: limit × window / (window + answer time). */
  readonly ceiling: number;
  readonly busy: number;
  readonly cpuShare: number;
  readonly cpuPerEditMs: number;
  readonly latency: Summary;
  readonly checks: { readonly checked: number; readonly ok: number; readonly problems: readonly string[] };
  readonly rateLimitedModify: number;
  readonly rateLimitedSend: number;
  readonly modifyCalls: number;
  readonly modifyApplied: number;
  readonly spooled: number;
  readonly drainedMs: number;
}

export async function editRate(options: EditRateOptions = DEFAULTS): Promise<BenchmarkResult> {
  const main = await runPhase(options.main, options, "er");
  const low = options.low === undefined ? undefined : await runPhase(options.low, options, "el");
  const rows: Row[] = [
    {
      metric: "configured rate",
      value: `${main.phase.rateLimit} per ${WINDOW_MS} ms (simulator: 200/s per API)`,
    },
    { metric: "edits sent (closed loop)", value: `${main.sent} by ${options.concurrency} in flight` },
    { metric: "answers by status", value: describe(main.statuses) || "none" },
    { metric: "network errors", value: describe(main.errors) || "0" },
    { metric: "429 (limiter wait budget exceeded)", value: main.statuses[429] ?? 0, digits: 0 },
    { metric: "achieved rate, 200s (steady part)", value: main.achieved, unit: "edits/s", digits: 1 },
    { metric: "200s per rolling 1 s, min / max", value: `${main.steady.min} / ${main.steady.max}` },
    {
      summary: "edits through npm start's stack, 64 clients, 180/s: achieved / configured",
      metric: "achieved / configured",
      value: main.achieved / main.phase.rateLimit,
      unit: "x",
      digits: 3,
      goal: { op: ">=", limit: GOAL_RATIO },
    },
    {
      summary: "edits through npm start's stack, 64 clients, 180/s: simulator 60007",
      metric: "simulator 60007 on modify_c2c_msg",
      value: main.rateLimitedModify,
      digits: 0,
      goal: { op: "<=", limit: 0 },
    },
    ...details(main),
  ];
  if (low !== undefined) {
    const at = `at ${low.phase.rateLimit}/s:`;
    rows.push(
      {
        metric: `${at} achieved / configured`,
        value: `${(low.achieved / low.phase.rateLimit).toFixed(3)} x (${low.achieved.toFixed(1)} edits/s; rolling 1 s min / max ${low.steady.min} / ${low.steady.max})`,
      },
      {
        metric: `${at} answers / network errors`,
        value: `${describe(low.statuses) || "none"} / ${describe(low.errors) || "0"}`,
      },
      {
        metric: `${at} simulator 60007 modify / sendmsg`,
        value: `${low.rateLimitedModify} / ${low.rateLimitedSend}`,
      },
      {
        metric: `${at} modify answer time mean, ceiling`,
        value: `${low.answerMs.mean.toFixed(2)} ms, ${low.ceiling.toFixed(1)} edits/s`,
      },
      {
        metric: `${at} event loop busy, CPU per edit`,
        value: `${pct(low.busy)}, ${low.cpuPerEditMs.toFixed(2)} ms`,
      },
      {
        metric: `${at} versions, simulator text`,
        value: `${low.checks.ok} / ${low.checks.checked} ok, ${low.spooled} spooled`,
      },
    );
  }
  return {
    title: `sustained edits over HTTP through npm start's stack (persisted SQLite store, default log level) against the simulator, ${options.concurrency} in flight for ${main.phase.durationMs / 1000} s`,
    rows,
    notes: [
      `${main.phase.messages} C2C messages sent through sendmsg first (${(main.prepareMs / 1000).toFixed(1)} s, ≤ 190/s); edits rotate over them, each with a new text`,
      `achieved rate = mean count of 200 answers in a rolling ${WINDOW_MS} ms window (starts every 1 ms) from ${options.rampMs} ms after the start to the stop at ${main.phase.durationMs} ms`,
      "simulator arrivals and answer times (steady part) seen in this process (node:http diagnostics channels); answer time includes the after-modify callback delivered before the answer",
      "ceiling = limit × window / (window + mean answer time): the limiter holds each slot from send until answer + window",
      `after the stop, the edits in flight finished in ${main.drainedMs.toFixed(0)} ms`,
      ...(low === undefined
        ? []
        : [
            `second run: a fresh stack with TENCENT_RATE_LIMIT=${low.phase.rateLimit}, ${low.phase.messages} messages, ${low.phase.durationMs / 1000} s, same load`,
          ]),
      ...main.checks.problems.slice(0, 3),
      ...(low?.checks.problems.slice(0, 3) ?? []),
    ],
  };
}

function details(result: PhaseResult): Row[] {
  return [
    {
      metric: "simulator modify calls / applied",
      value: `${result.modifyCalls} / ${result.modifyApplied}`,
    },
    {
      metric: "simulator arrivals per 1 s, steady mean / max any",
      value: `${result.simSteadyMean.toFixed(1)} / ${result.simMaxInWindow}`,
    },
    {
      metric: "simulator modify answer time mean / p99",
      value: `${result.answerMs.mean.toFixed(2)} / ${result.answerMs.p99.toFixed(2)} ms`,
    },
    { metric: "limiter ceiling at that answer time (≈)", value: result.ceiling, unit: "edits/s", digits: 1 },
    {
      metric: "this process while firing: event loop busy / CPU",
      value: `${pct(result.busy)} / ${pct(result.cpuShare)} of a core`,
    },
    { metric: "CPU per successful edit (this process)", value: result.cpuPerEditMs, unit: "ms" },
    {
      metric: "edit latency (200s) p50 / p99 / max",
      value: `${result.latency.p50.toFixed(1)} / ${result.latency.p99.toFixed(1)} / ${result.latency.max.toFixed(1)} ms`,
    },
    {
      metric: "messages: versions = 1 + edits, simulator = last text",
      value: `${result.checks.ok} / ${result.checks.checked} ok`,
    },
    { metric: "simulator 60007 on sendmsg (preparation)", value: result.rateLimitedSend, digits: 0 },
    { metric: "spooled instead of stored", value: result.spooled, digits: 0 },
  ];
}

async function runPhase(phase: RatePhase, options: EditRateOptions, tag: string): Promise<PhaseResult> {
  const edit = await startEditStack({
    TENCENT_RATE_LIMIT: String(phase.rateLimit),
    TENCENT_RATE_WINDOW_MS: String(WINDOW_MS),
  });
  let probe: SimulatorProbe | undefined;
  let pool: Pool | undefined;
  try {
    const { stack, sim, run } = edit;
    const prepareStarted = performance.now();
    const messages = await sendMessages(edit, phase.messages, tag);
    const prepareMs = performance.now() - prepareStarted;

    probe = new SimulatorProbe(sim.url, "/v4/openim/modify_c2c_msg");
    const client = new Pool(stack.url, {
      connections: options.concurrency,
      connectTimeout: 2_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    pool = client;
    const answers: Answer[] = [];
    const errors: Record<string, number> = {};
    let next = 0;
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const start = performance.now();
    const stopAt = start + phase.durationMs;
    const worker = async () => {
      while (performance.now() < stopAt) {
        const k = next++;
        const index = k % messages.length;
        const message = messages[index] as SentMessage;
        const text = `rate edit ${k} of ${run}`;
        const startedAt = performance.now();
        try {
          const response = await client.request({
            method: "PATCH",
            path: `/v1/messages/${message.id}`,
            headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({ text }),
          });
          await response.body.text();
          answers.push({
            message: index,
            text,
            status: response.statusCode,
            startedAt,
            doneAt: performance.now(),
          });
        } catch (error: unknown) {
          const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "unknown";
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const finishedAt = performance.now();
    const busy = performance.eventLoopUtilization(elu).utilization;
    const cpuUsed = process.cpuUsage(cpu);
    const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000;
    await sim.idle();
    probe.close();

    const ok = answers.filter((a) => a.status === 200);
    const okTimes = ok.map((a) => a.doneAt).sort((a, b) => a - b);
    const steady = rollingCounts(okTimes, start + options.rampMs, stopAt, WINDOW_MS);
    const arrivals = [...probe.arrivals].sort((a, b) => a - b);
    // Answer times of the calls that arrived in the steady part (the initial burst queues longer).
    const answerMs = summarize(
      probe.answers.filter((a) => a.at >= start + options.rampMs && a.at < stopAt).map((a) => a.ms),
    );
    const statuses: Record<string, number> = {};
    for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const simStats = sim.stats;
    return {
      phase,
      prepareMs,
      sent: next,
      statuses,
      errors,
      achieved: (steady.mean * 1000) / WINDOW_MS,
      steady,
      simSteadyMean: rollingCounts(arrivals, start + options.rampMs, stopAt, WINDOW_MS).mean,
      simMaxInWindow: maxInWindow(arrivals, WINDOW_MS),
      answerMs,
      ceiling: (phase.rateLimit * WINDOW_MS) / (WINDOW_MS + answerMs.mean),
      busy,
      cpuShare: cpuMs / (finishedAt - start),
      cpuPerEditMs: cpuMs / Math.max(1, ok.length),
      latency: summarize(ok.map((a) => a.doneAt - a.startedAt)),
      checks: await verify(edit, messages, ok),
      rateLimitedModify: simStats.rateLimited.modify_c2c_msg ?? 0,
      rateLimitedSend: simStats.rateLimited.sendmsg ?? 0,
      modifyCalls: simStats.calls.modify_c2c_msg ?? 0,
      modifyApplied: simStats.applied.modify_c2c_msg ?? 0,
      spooled: (await stack.spool.pending()).length,
      drainedMs: finishedAt - stopAt,
    };
  } finally {
    probe?.close();
    await pool?.close();
    await edit.close();
  }
}

/** Per message: the head is at 1 + its successful edits, holds the last text, as does the simulator. */
export async function verify(
  edit: EditStack,
  messages: readonly SentMessage[],
  ok: readonly Answer[],
): Promise<{ checked: number; ok: number; problems: string[] }> {
  const edits = new Map<number, { count: number; last: Answer }>();
  for (const answer of [...ok].sort((a, b) => a.doneAt - b.doneAt)) {
    const seen = edits.get(answer.message);
    edits.set(answer.message, { count: (seen?.count ?? 0) + 1, last: answer });
  }
  const problems: string[] = [];
  const indexed = messages.map((m, i) => ({ m, i }));
  const results = await inChunks(indexed, async ({ m, i }) => {
    const head = await edit.stack.deps.store.getHead(m.id);
    const done = edits.get(i);
    const want = done?.last.text ?? `hello ${i}`;
    const simText = textOf(edit.sim.c2cMessage(m.from, m.to, m.msgKey)?.MsgBody);
    const good =
      head?.version === 1 + (done?.count ?? 0) && textOf(head.content?.MsgBody) === want && simText === want;
    if (!good) {
      problems.push(
        `${m.id}: head v${head?.version} "${textOf(head?.content?.MsgBody)}", simulator "${simText}", expected v${1 + (done?.count ?? 0)} "${want}"`,
      );
    }
    return good;
  });
  return { checked: messages.length, ok: results.filter(Boolean).length, problems };
}

const pct = (share: number): string => `${(share * 100).toFixed(0)} %`;

export const describe = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .map(([key, n]) => `${key}×${n}`)
    .join(", ");
