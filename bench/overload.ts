import { type Answer, describe } from "./edit-rate.ts";
import { sendMessages, startEditStack } from "./edit-stack.ts";
import { runPhase, WAIT_BUDGET_MS } from "./overload-phase.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import type { Summary } from "./stats.ts";

/**
 * Benchmark "overload": many more concurrent PATCHes than the configured rate can serve inside the
 * wait budget (EDIT_WAIT_MS, 5 s). Each of `multiple × rate` clients edits its own message in a closed
 * loop for a few seconds, honouring Retry-After (as a well-behaved client does) after a 429 or 503.
 * Admission control should refuse what cannot finish inside the budget with 429 at once, so that
 * overload never turns into 5xx (503 provider unavailable, 504 outcome unknown) nor into provider
 * 60007, and the edits it admits finish inside the budget.
 *
 * The clients run in a separate Node process (overload-client.ts), as in server-load: in this process
 * 1,260 clients created at once queued behind the server on one event loop, and their measured latency
 * included that queueing. The wait budget is the server's (counted from the request's arrival), so the
 * goal row counts 200s whose server-side time, request headers parsed → response finished, measured
 * here around the local server, exceeds it; the latency the client process observes is reported beside it.
 *
 * Loopback only, bounded: at most `multiple × rate` connections, `durationMs` of firing, each request
 * cut at REQUEST_TIMEOUT_MS, the whole phase at PHASE_LIMIT_MS, the client process killed at CLIENT_KILL_MS
 * (overload-phase.ts).
 */
export interface OverloadOptions {
  /** TENCENT_RATE_LIMIT (per 1 s) of the stack. */
  readonly rateLimit: number;
  /** Concurrent clients as multiples of the rate. */
  readonly multiples: readonly number[];
  readonly durationMs: number;
}

const DEFAULTS: OverloadOptions = { rateLimit: 180, multiples: [2, 7], durationMs: 6_000 };

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
      "the clients run in a separate Node process (overload-client.ts); the server, simulator, store and handlers in this one",
      "server-side = request headers parsed → response finished, measured in this process (node:http diagnostics channels), joined to each answer by an x-bench-request header: the wait budget's clock (the handler counts from the event's timeEpoch, set a little later, after the body is read)",
      "client-observed = PATCH sent → answer read in the client process; it adds the loopback, the client's own queueing and the time a request waits in the socket before the server reads it",
      "sent → server read the headers: the client's send time against the server's header parse, across the two processes on epoch ms (timeOrigin + now); the wait (connection setup, the request unread in its socket while the server's loop works through a burst) that neither the server-side figure nor the handler's admission clock sees",
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
          metric: `${at} 200s slower than the wait budget (server-side: arrival → answer)`,
          value: result.overBudget,
          digits: 0,
          goal: { op: "<=", limit: 0 },
        },
        {
          metric: `${at} 200s slower than the wait budget, client-observed (other process)`,
          value: result.overBudgetClient,
          digits: 0,
        },
        { metric: `${at} 200 server-side time p50 / p99 / max`, value: ms(result.okServer) },
        { metric: `${at} 200 client-observed latency p50 / p99 / max`, value: ms(result.okLatency) },
        {
          metric: `${at} sent → server read the headers p50 / p99 / max (all answers)`,
          value: ms(result.beforeArrival),
        },
        {
          metric: `${at} 429 Retry-After min / mean / max, answer time p99 server / client`,
          value: Number.isFinite(result.retryAfter.min)
            ? `${result.retryAfter.min} / ${result.retryAfter.mean.toFixed(1)} / ${result.retryAfter.max} s, ${result.refusalServerMs.toFixed(0)} / ${result.refusalMs.toFixed(0)} ms`
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
        {
          metric: `${at} answers with a server-side time (same status)`,
          value: `${result.matched.matched} / ${result.matched.answered}`,
        },
        {
          metric: `${at} event loop busy while firing: server / client process`,
          value: `${(result.busy * 100).toFixed(0)} % / ${(result.clientBusy * 100).toFixed(0)} %`,
        },
        {
          metric: `${at} server event-loop delay p99 / max while firing`,
          value: `${result.loop.p99.toFixed(0)} / ${result.loop.max.toFixed(0)} ms`,
        },
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

const ms = (s: Summary): string => `${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} / ${s.max.toFixed(0)} ms`;
