import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { type Answer, describe, verify } from "./edit-rate.ts";
import { API_TOKEN, type EditStack, type SentMessage, sendMessages, startEditStack } from "./edit-stack.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { summarize } from "./stats.ts";

/**
 * Benchmark "overload": many more concurrent PATCHes than the configured rate can serve inside the
 * wait budget (EDIT_WAIT_MS, 5 s). Each of `multiple × rate` clients edits its own message in a closed
 * loop for a few seconds, honouring Retry-After (as a well-behaved client does) after a 429 or 503.
 * Admission control should refuse what cannot finish inside the budget with 429 at once, so that
 * overload never turns into 5xx (503 provider unavailable, 504 outcome unknown) nor into provider
 * 60007, and the edits it admits finish inside the budget.
 *
 * Loopback only, bounded: at most `multiple × rate` connections, `durationMs` of firing, each request
 * cut at REQUEST_TIMEOUT_MS, and the whole phase at PHASE_LIMIT_MS.
 */
export interface OverloadOptions {
  /** TENCENT_RATE_LIMIT (per 1 s) of the stack. */
  readonly rateLimit: number;
  /** Concurrent clients as multiples of the rate. */
  readonly multiples: readonly number[];
  readonly durationMs: number;
}

const DEFAULTS: OverloadOptions = { rateLimit: 180, multiples: [2, 7], durationMs: 6_000 };
const WAIT_BUDGET_MS = 5_000;
const REQUEST_TIMEOUT_MS = 20_000;
const PHASE_LIMIT_MS = 60_000;
const PAUSE_BETWEEN_MS = 2_000;

interface PhaseResult {
  readonly clients: number;
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly firstWave: Readonly<Record<string, number>>;
  readonly retryAfter: { readonly min: number; readonly max: number; readonly mean: number };
  readonly refusalMs: number;
  readonly okLatency: ReturnType<typeof summarize>;
  readonly overBudget: number;
  readonly rateLimitedModify: number;
  readonly modifyCalls: number;
  readonly achieved: number;
  readonly checks: { readonly checked: number; readonly ok: number; readonly problems: readonly string[] };
  readonly busy: number;
}

export async function overload(options: OverloadOptions = DEFAULTS): Promise<BenchmarkResult> {
  const most = Math.max(...options.multiples) * options.rateLimit;
  const edit = await startEditStack({
    TENCENT_RATE_LIMIT: String(options.rateLimit),
    TENCENT_RATE_WINDOW_MS: "1000",
    EDIT_WAIT_MS: String(WAIT_BUDGET_MS),
  });
  const rows: Row[] = [
    { metric: "configured rate, wait budget", value: `${options.rateLimit}/s, ${WAIT_BUDGET_MS} ms` },
  ];
  const notes: string[] = [];
  try {
    const prepared = performance.now();
    const messages = await sendMessages(edit, most, "ov");
    notes.push(
      `${most} C2C messages sent through sendmsg first (${((performance.now() - prepared) / 1000).toFixed(1)} s); client i edits message i only (no lease conflicts)`,
      `each client: PATCH, then again at once after a 2xx/4xx, or after Retry-After after a 429/503, for ${options.durationMs / 1000} s`,
      "first wave = the answers to the first PATCH of every client (all sent at once)",
    );
    let used = 0;
    const history: Answer[] = [];
    for (const multiple of options.multiples) {
      const clients = multiple * options.rateLimit;
      const result = await runPhase(edit, messages, clients, used, history, options.durationMs);
      used += result.sent;
      const at = `${multiple}× (${clients} clients):`;
      rows.push(
        { metric: `${at} answers by status`, value: describe(result.statuses) || "none" },
        { metric: `${at} first wave by status`, value: describe(result.firstWave) || "none" },
        { metric: `${at} network errors`, value: describe(result.errors) || "0" },
        {
          metric: `${at} 5xx answers (503 unavailable, 504 unknown outcome)`,
          value: Object.entries(result.statuses)
            .filter(([status]) => Number(status) >= 500)
            .reduce((sum, [, n]) => sum + n, 0),
          digits: 0,
          goal: { op: "<=", limit: 0 },
        },
        {
          metric: `${at} simulator 60007 on modify_c2c_msg`,
          value: result.rateLimitedModify,
          digits: 0,
          goal: { op: "<=", limit: 0 },
        },
        {
          metric: `${at} 200s slower than the wait budget`,
          value: result.overBudget,
          digits: 0,
          goal: { op: "<=", limit: 0 },
        },
        {
          metric: `${at} 200 latency p50 / p99 / max`,
          value: `${result.okLatency.p50.toFixed(0)} / ${result.okLatency.p99.toFixed(0)} / ${result.okLatency.max.toFixed(0)} ms`,
        },
        {
          metric: `${at} 429 Retry-After min / mean / max, answer time p99`,
          value: Number.isFinite(result.retryAfter.min)
            ? `${result.retryAfter.min} / ${result.retryAfter.mean.toFixed(1)} / ${result.retryAfter.max} s, ${result.refusalMs.toFixed(0)} ms`
            : "no 429",
        },
        {
          metric: `${at} 200s per second (rolling mean), simulator modify calls`,
          value: `${result.achieved.toFixed(1)}, ${result.modifyCalls}`,
        },
        {
          metric: `${at} messages: versions = 1 + edits, simulator = last text`,
          value: `${result.checks.ok} / ${result.checks.checked} ok`,
        },
        { metric: `${at} event loop busy while firing`, value: `${(result.busy * 100).toFixed(0)} %` },
      );
      notes.push(...result.checks.problems.slice(0, 3));
    }
  } finally {
    await edit.close();
  }
  return {
    title: `overload: ${options.multiples.map((m) => `${m}×`).join(" and ")} the rate in concurrent PATCH clients, ${options.durationMs / 1000} s each`,
    rows,
    notes,
  };
}

async function runPhase(
  edit: EditStack,
  prepared: readonly SentMessage[],
  clients: number,
  offset: number,
  history: Answer[],
  durationMs: number,
): Promise<PhaseResult> {
  const messages = prepared.slice(0, clients);
  const { stack, sim, run } = edit;
  const limited0 = sim.stats.rateLimited.modify_c2c_msg ?? 0;
  const calls0 = sim.stats.calls.modify_c2c_msg ?? 0;
  const client = new Pool(stack.url, {
    connections: messages.length,
    connectTimeout: 5_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const answers: (Answer & { retryAfter?: number; first: boolean })[] = [];
  const errors: Record<string, number> = {};
  let sent = 0;
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  const stopAt = start + durationMs;
  const hardStop = AbortSignal.timeout(PHASE_LIMIT_MS);
  const worker = async (index: number) => {
    const message = messages[index] as SentMessage;
    let first = true;
    while (performance.now() < stopAt && !hardStop.aborted) {
      const text = `overload edit ${offset + sent++} of ${run}`;
      const startedAt = performance.now();
      try {
        const response = await client.request({
          method: "PATCH",
          path: `/v1/messages/${message.id}`,
          headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ text }),
          signal: hardStop,
        });
        await response.body.text();
        const header = response.headers["retry-after"];
        const retryAfter = header === undefined ? undefined : Number(header);
        answers.push({
          message: index,
          text,
          status: response.statusCode,
          startedAt,
          doneAt: performance.now(),
          first,
          ...(retryAfter !== undefined ? { retryAfter } : {}),
        });
        if (retryAfter !== undefined) {
          const resumeAt = performance.now() + retryAfter * 1000;
          if (resumeAt >= stopAt) break;
          await sleep(resumeAt - performance.now());
        }
      } catch (error: unknown) {
        const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "unknown";
        errors[code] = (errors[code] ?? 0) + 1;
        if (first) answers.push({ message: index, text, status: 0, startedAt, doneAt: 0, first });
        break;
      }
      first = false;
    }
  };
  try {
    await Promise.all(messages.map((_, index) => worker(index)));
    const busy = performance.eventLoopUtilization(elu).utilization;
    await sim.idle();
    const statuses: Record<string, number> = {};
    const firstWave: Record<string, number> = {};
    for (const answer of answers) {
      if (answer.status === 0) continue;
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    }
    for (const answer of answers.filter((a) => a.first)) {
      const key = answer.status === 0 ? "error" : String(answer.status);
      firstWave[key] = (firstWave[key] ?? 0) + 1;
    }
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    const retryAfters = refused.map((a) => a.retryAfter ?? Number.NaN).filter(Number.isFinite);
    const okTimes = ok.map((a) => a.doneAt).sort((a, b) => a - b);
    const seconds = Math.max(1, (Math.max(stopAt, okTimes.at(-1) ?? 0) - start) / 1000);
    // Every message against all of its successful edits so far (earlier phases edited some of them).
    history.push(...ok);
    const checks = await verify(edit, prepared, history);
    return {
      clients: messages.length,
      sent,
      statuses,
      errors,
      firstWave,
      retryAfter: {
        min: Math.min(...retryAfters),
        max: Math.max(...retryAfters),
        mean: retryAfters.reduce((s, n) => s + n, 0) / Math.max(1, retryAfters.length),
      },
      refusalMs: summarize(refused.map((a) => a.doneAt - a.startedAt)).p99,
      okLatency: summarize(ok.map((a) => a.doneAt - a.startedAt)),
      overBudget: ok.filter((a) => a.doneAt - a.startedAt > WAIT_BUDGET_MS).length,
      rateLimitedModify: (sim.stats.rateLimited.modify_c2c_msg ?? 0) - limited0,
      modifyCalls: (sim.stats.calls.modify_c2c_msg ?? 0) - calls0,
      achieved: ok.length / seconds,
      checks,
      busy,
    };
  } finally {
    await client.close();
    await sleep(PAUSE_BETWEEN_MS);
  }
}
