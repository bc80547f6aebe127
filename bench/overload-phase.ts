import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { type EventLoopUtilization, monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { runClientProcess } from "./child.ts";
import { type Answer, verify } from "./edit-rate.ts";
import { API_TOKEN, type EditStack, type SentMessage } from "./edit-stack.ts";
import { type OverloadAnswer, type OverloadJob, OverloadReport, REQUEST_HEADER } from "./overload-report.ts";
import { type Summary, summarize } from "./stats.ts";

/**
 * One phase of the overload benchmark (overload.ts): the client process firing PATCHes at the stack, the
 * server's side of each seen in this process, and what the phase came to.
 */

export const WAIT_BUDGET_MS = 5_000;
const REQUEST_TIMEOUT_MS = 20_000;
const PHASE_LIMIT_MS = 60_000;
const PAUSE_BETWEEN_MS = 2_000;
/** The client process is killed after this long (its own limit is PHASE_LIMIT_MS + 5 s). */
const CLIENT_KILL_MS = PHASE_LIMIT_MS + 15_000;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLIENT = fileURLToPath(new URL("./overload-client.ts", import.meta.url));

export interface PhaseResult {
  readonly clients: number;
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly firstWave: Readonly<Record<string, number>>;
  readonly retryAfter: { readonly min: number; readonly max: number; readonly mean: number };
  /** p99 of the 429s' answer time, client-observed and server-side. */
  readonly refusalMs: number;
  readonly refusalServerMs: number;
  /** 200s: client-observed latency (client process), server-side time (this process). */
  readonly okLatency: Summary;
  readonly okServer: Summary;
  /** 200s over the wait budget by the server's clock (the goal), and by the client's. */
  readonly overBudget: number;
  readonly overBudgetClient: number;
  /** Answers the client got that the server-side probe saw too, with the same status. */
  readonly matched: { readonly matched: number; readonly answered: number };
  /** Sent by the client → headers parsed by the server (across processes, on epoch ms). */
  readonly beforeArrival: Summary;
  readonly rateLimitedModify: number;
  readonly modifyCalls: number;
  readonly achieved: number;
  readonly checks: { readonly checked: number; readonly ok: number; readonly problems: readonly string[] };
  /** Event-loop utilization while firing: this (server) process, the client process. */
  readonly busy: number;
  readonly clientBusy: number;
  /** This (server) process's event-loop delay while firing. */
  readonly loop: { readonly p99: number; readonly max: number };
}

export async function runPhase(
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
  const probe = new PatchProbe(Number(new URL(stack.url).port));
  const job: OverloadJob = {
    url: stack.url,
    token: API_TOKEN,
    ids: messages.map((m) => m.id),
    offset,
    run,
    durationMs,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    phaseLimitMs: PHASE_LIMIT_MS,
  };
  let elu: EventLoopUtilization | undefined;
  try {
    const output = await runClient(JSON.stringify(job), CLIENT_KILL_MS, () => {
      elu = performance.eventLoopUtilization();
      probe.firing();
    });
    const busy = elu === undefined ? Number.NaN : performance.eventLoopUtilization(elu).utilization;
    const loop = probe.loopDelayMs();
    probe.close();
    const report = OverloadReport.parse(JSON.parse(output));
    const { answers, errors } = report;
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
    const seconds = Math.max(1, (Math.max(report.stopAt, okTimes.at(-1) ?? 0) - report.start) / 1000);
    // The server's time for each answer the client got, joined by the x-bench-request header.
    const serverMs = (a: OverloadAnswer) => probe.times.get(a.request)?.ms ?? Number.POSITIVE_INFINITY;
    const clientMs = (a: OverloadAnswer) => a.doneAt - a.startedAt;
    const answered = answers.filter((a) => a.status !== 0);
    // Sent (client process) → headers parsed (this process), both on epoch ms: queueing before the server reads it.
    const waits = answered.flatMap((a) => {
      const seen = probe.times.get(a.request);
      return seen === undefined ? [] : [seen.arrivedAt - a.startedAt];
    });
    const matched = answered.filter((a) => probe.times.get(a.request)?.status === a.status).length;
    // Every message against all of its successful edits so far (earlier phases edited some of them).
    history.push(...ok);
    const checks = await verify(edit, prepared, history);
    return {
      clients: messages.length,
      sent: report.sent,
      statuses,
      errors,
      firstWave,
      retryAfter: {
        min: Math.min(...retryAfters),
        max: Math.max(...retryAfters),
        mean: retryAfters.reduce((s, n) => s + n, 0) / Math.max(1, retryAfters.length),
      },
      refusalMs: summarize(refused.map(clientMs)).p99,
      refusalServerMs: summarize(refused.map(serverMs)).p99,
      okLatency: summarize(ok.map(clientMs)),
      okServer: summarize(ok.map(serverMs)),
      overBudget: ok.filter((a) => serverMs(a) > WAIT_BUDGET_MS).length,
      overBudgetClient: ok.filter((a) => clientMs(a) > WAIT_BUDGET_MS).length,
      matched: { matched, answered: answered.length },
      beforeArrival: summarize(waits),
      rateLimitedModify: (sim.stats.rateLimited.modify_c2c_msg ?? 0) - limited0,
      modifyCalls: (sim.stats.calls.modify_c2c_msg ?? 0) - calls0,
      achieved: ok.length / seconds,
      checks,
      busy,
      clientBusy: report.busy,
      loop,
    };
  } finally {
    probe.close();
    await sleep(PAUSE_BETWEEN_MS);
  }
}

/**
 * Runs the overload client in its own process, feeding it `job` on stdin, bounded by `timeoutMs`; calls
 * `onFiring` when it says it starts firing, resolves with its last stdout line (the report).
 */
async function runClient(job: string, timeoutMs: number, onFiring: () => void): Promise<string> {
  let firing = false;
  const stdout = await runClientProcess({
    script: CLIENT,
    cwd: ROOT,
    label: "overload client",
    timeoutMs,
    stdin: job,
    onOutput: (out) => {
      if (!firing && out.startsWith("firing\n")) {
        firing = true;
        onFiring();
      }
    },
    ok: () => firing,
  });
  return stdout.trim().split("\n").at(-1) ?? "";
}

/**
 * The server's side of each PATCH, seen through node:http's diagnostics channels in this process: from
 * the server parsing the request's headers (before the body is read and the event's timeEpoch is set,
 * so a little earlier than the handler's own budget clock) to the response finished. Joined to the
 * client's answers by the x-bench-request header. Also this process's event-loop delay while firing.
 */
class PatchProbe {
  /** Per tagged request: epoch ms its headers were parsed, server-side time, status. */
  readonly times = new Map<
    number,
    { readonly arrivedAt: number; readonly ms: number; readonly status: number }
  >();
  private readonly started = new WeakMap<ServerResponse, { readonly request: number; readonly at: number }>();
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });
  private closed = false;
  private readonly onStart = (message: unknown) => {
    const { server, request, response } = message as {
      server: Server;
      request: IncomingMessage;
      response: ServerResponse;
    };
    const tag = request.headers[REQUEST_HEADER];
    if (typeof tag !== "string" || (server.address() as AddressInfo | null)?.port !== this.port) return;
    this.started.set(response, { request: Number(tag), at: performance.now() });
  };
  private readonly onFinish = (message: unknown) => {
    const response = (message as { response: ServerResponse }).response;
    const start = this.started.get(response);
    if (start !== undefined)
      this.times.set(start.request, {
        arrivedAt: performance.timeOrigin + start.at,
        ms: performance.now() - start.at,
        status: response.statusCode,
      });
  };

  constructor(private readonly port: number) {
    subscribe("http.server.request.start", this.onStart);
    subscribe("http.server.response.finish", this.onFinish);
  }

  firing(): void {
    this.loop.enable();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    unsubscribe("http.server.request.start", this.onStart);
    unsubscribe("http.server.response.finish", this.onFinish);
    this.loop.disable();
  }

  loopDelayMs(): { p99: number; max: number } {
    return { p99: this.loop.percentile(99) / 1e6, max: this.loop.max / 1e6 };
  }
}
