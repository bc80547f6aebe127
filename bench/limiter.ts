import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTable, startDynalite } from "../local/dynamo.ts";
import { runClientProcess } from "./child.ts";
import { type ChildJob, type ChildReport, KEY, R, SERVICE_MS, W } from "./limiter-job.ts";
import { countingProxy, fakeProvider, type StoreCall } from "./limiter-servers.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { maxInWindow } from "./rolling-windows.ts";
import { percentile } from "./stats.ts";

/**
 * Benchmark "limiter": the shared DynamoDB limiter (functions/adapters/dynamodb/limiter.ts) at the
 * provider's full rate, as in AWS: 1 to 4 processes (limiter-child.ts, each one DynamoRateLimiter
 * = one Lambda instance) with 16 to 64 callers in all share one DynamoDB-compatible store (dynalite,
 * in-memory) through a counting proxy, and send their calls to a fake provider that stamps each arrival.
 * Each caller loops: acquire (wait budget 5 s, or 300 ms in the tight-budget run), one call to the
 * provider (answered after SERVICE_MS), release.
 *
 * Reported per run: the most calls the provider saw in any rolling W (goal ≤ R), the achieved rate over
 * R (goal ≥ 0.95; beside it the contract's ceiling R·W/(W + service): a slot is held from send to answer
 * + W), grants after the caller's budget (goal 0), limiter store calls per grant (goal ≤ 3), and on the
 * hottest key the read and write units per second, estimated from the item sizes by DynamoDB's rules
 * (size.ts; consistent reads 1 RCU per started 4 KB, writes 1 WCU per started KB, failed conditional
 * writes included), peak second and mean (goal: under a third of a partition's 3,000 RCU/s and
 * 1,000 WCU/s). The last runs are a bulk job (background callers): alone (goal: the full rate, not
 * R minus the interactive reserve), beside sporadic edits from another process (each arriving after the
 * reserve's grace, while the job holds all R: their waits and 429s), and beside steady edits in one of
 * its own processes.
 */
const DURATION_MS = 6_000;
/** The first second is the start (leases being taken): the rate is measured after it. */
const WARMUP_MS = 1_000;
const TABLE_NAME = "im-edit-limiter-bench";
const CHILD = fileURLToPath(new URL("./limiter-child.ts", import.meta.url));

interface Run {
  readonly name: string;
  readonly processes: number;
  /** Callers per process. */
  readonly callers: number;
  readonly budgetMs: number;
  /** Background callers per process (a bulk job, 5 s budget), besides `callers` interactive ones. */
  readonly background?: number;
  /** Interactive callers in the first process only (with `background`). */
  readonly interactiveFirstOnly?: boolean;
  /**
   * One more process with the `callers` interactive callers only (an API Lambda beside the job's
   * workers); the `processes` have the background callers only.
   */
  readonly interactiveProcess?: boolean;
  /** Pause of interactive callers between edits (people editing, not a loop); default none. */
  readonly thinkMs?: number;
  /** Length of the run (default DURATION_MS). */
  readonly durationMs?: number;
}

const RUNS: readonly Run[] = [
  { name: "1 process x 16 callers", processes: 1, callers: 16, budgetMs: 5_000 },
  { name: "2 processes x 16 callers", processes: 2, callers: 16, budgetMs: 5_000 },
  { name: "4 processes x 16 callers (64 waiting)", processes: 4, callers: 16, budgetMs: 5_000 },
  { name: "4 processes x 16 callers, 300 ms budget", processes: 4, callers: 16, budgetMs: 300 },
  { name: "bulk job alone (2 x 32 background)", processes: 2, callers: 0, budgetMs: 5_000, background: 32 },
  {
    // Each edit comes after the grace (2 s) of the one before: the job holds all R again, and the
    // edit waits for the job's leases to shrink (its process writes its demand in the ledger, the
    // job's processes read it and publish when their extra holds end). The budget is EDIT_WAIT_MS's
    // default: that wait can reach one slot cycle (answer + W) when the job's holds end together.
    name: "bulk job (2 x 32 background) + sporadic edits in a 3rd process (2 callers, one edit per 4.5 s each, 5 s budget)",
    processes: 2,
    callers: 2,
    thinkMs: 4_500,
    budgetMs: 5_000,
    background: 32,
    interactiveProcess: true,
    durationMs: 14_000,
  },
  {
    name: "bulk job (3 x 32 background, 5 s budget) + 5 interactive/s (1 s budget)",
    processes: 3,
    callers: 4,
    thinkMs: 800,
    budgetMs: 1_000,
    background: 32,
    interactiveFirstOnly: true,
  },
];

export async function limiterBench(): Promise<BenchmarkResult> {
  const dynamo = await startDynalite();
  const calls: StoreCall[] = [];
  const proxy = await countingProxy(dynamo.endpoint, calls);
  const arrivals: number[] = [];
  const provider = await fakeProvider(arrivals);
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    await ensureTable(dynamo.endpoint, TABLE_NAME);
    let worstHeld = 0;
    let worstRate = Number.POSITIVE_INFINITY;
    let lateTotal = 0;
    let worstCalls = 0;
    let worstRcu = 0;
    let worstWcu = 0;
    for (const [index, run] of RUNS.entries()) {
      arrivals.length = 0;
      calls.length = 0;
      const table = TABLE_NAME;
      const key = `${KEY}:${index}`;
      const startAt = Date.now() + 2_500; // the children start their callers together
      const durationMs = run.durationMs ?? DURATION_MS;
      const processes = run.processes + (run.interactiveProcess ? 1 : 0);
      const reports = await Promise.all(
        Array.from({ length: processes }, (_, p) =>
          runClientProcess({
            script: CHILD,
            cwd: join(dirname(CHILD), ".."),
            label: `limiter child ${p}`,
            timeoutMs: durationMs + 30_000,
            args: ["--child", key],
            stdin: JSON.stringify({
              endpoint: proxy.url,
              table,
              provider: provider.url,
              callers: run.interactiveProcess
                ? p === run.processes
                  ? run.callers
                  : 0
                : run.interactiveFirstOnly && p > 0
                  ? 0
                  : run.callers,
              background: run.interactiveProcess && p === run.processes ? 0 : (run.background ?? 0),
              budgetMs: run.budgetMs,
              backgroundBudgetMs: 5_000,
              thinkMs: run.thinkMs ?? 0,
              startAt,
              durationMs,
            } satisfies ChildJob),
          }).then((out) => JSON.parse(out.trim().split("\n").pop() ?? "{}") as ChildReport),
        ),
      );
      const grants = sum(reports.map((r) => r.grants));
      const late = sum(reports.map((r) => r.late));
      const refused = sum(reports.map((r) => r.refused));
      const sorted = [...arrivals].sort((a, b) => a - b);
      const held = maxInWindow(sorted, W);
      const steady = sorted.filter((at) => at >= startAt + WARMUP_MS && at < startAt + durationMs).length;
      const rate = steady / ((durationMs - WARMUP_MS) / W) / R;
      const service = mean(reports.flatMap((r) => r.serviceMs));
      const ceiling = W / (W + service);
      const hot = hottest(calls);
      const waits = reports.flatMap((r) => r.waitsMs).sort((a, b) => a - b);
      const interactive = reports.flatMap((r) => r.interactiveWaitsMs).sort((a, b) => a - b);
      const perGrant = calls.length / Math.max(1, grants);
      worstHeld = Math.max(worstHeld, held);
      lateTotal += late;
      worstCalls = Math.max(worstCalls, perGrant);
      worstRcu = Math.max(worstRcu, hot.peakRcu);
      worstWcu = Math.max(worstWcu, hot.peakWcu);
      const saturated = run.budgetMs >= 1_000;
      if (saturated) worstRate = Math.min(worstRate, rate);
      const label = run.name;
      rows.push(
        {
          metric: `${label}: max calls in any ${W} ms`,
          value: held,
          digits: 0,
          goal: { op: "<=", limit: R },
        },
        {
          metric: `${label}: achieved / R`,
          value: rate,
          unit: "x",
          ...(saturated ? { goal: { op: ">=" as const, limit: 0.95 } } : {}),
        },
        { metric: `${label}: contract ceiling W/(W+service)`, value: ceiling, unit: "x" },
        { metric: `${label}: grants after budget`, value: late, digits: 0, goal: { op: "<=", limit: 0 } },
        { metric: `${label}: refused (429)`, value: refused, digits: 0 },
        {
          metric: `${label}: store calls per grant`,
          value: perGrant,
          digits: 3,
          goal: { op: "<=", limit: 3 },
        },
        {
          metric: `${label}: hottest key RCU/s peak (mean)`,
          value: `${hot.peakRcu.toFixed(0)} (${hot.meanRcu.toFixed(1)})`,
        },
        {
          metric: `${label}: hottest key WCU/s peak (mean)`,
          value: `${hot.peakWcu.toFixed(0)} (${hot.meanWcu.toFixed(1)})`,
        },
        {
          metric: `${label}: wait p50 / p99 / max`,
          value: `${pct(waits, 50)} / ${pct(waits, 99)} / ${pct(waits, 100)}`,
          unit: "ms",
        },
      );
      if (run.background && run.callers > 0) {
        rows.push(
          {
            metric: `${label}: interactive edits / wait p50 / p90 / max`,
            value: `${interactive.length} / ${pct(interactive, 50)} / ${pct(interactive, 90)} / ${pct(interactive, 100)}`,
            unit: "ms",
          },
          {
            metric: `${label}: interactive refused (429)`,
            value: sum(reports.map((r) => r.interactiveRefused)),
            digits: 0,
            goal: { op: "<=", limit: 0 },
          },
        );
      }
      notes.push(
        `${label}: ${grants} grants, ${calls.length} store calls (${calls.filter((c) => c.read).length} reads), item ${hot.itemBytes} bytes`,
      );
    }
    rows.push(
      {
        metric: "max calls in any rolling W (all runs)",
        value: worstHeld,
        digits: 0,
        goal: { op: "<=", limit: R },
        summary: "limiter: max calls in any rolling W",
      },
      {
        metric: "achieved / R under saturation (worst run)",
        value: worstRate,
        unit: "x",
        goal: { op: ">=", limit: 0.95 },
        summary: "limiter: achieved rate / R",
      },
      {
        metric: "grants after the wait budget (all runs)",
        value: lateTotal,
        digits: 0,
        goal: { op: "<=", limit: 0 },
        summary: "limiter: grants after budget",
      },
      {
        metric: "limiter store calls per grant (worst run)",
        value: worstCalls,
        digits: 3,
        goal: { op: "<=", limit: 3 },
        summary: "limiter: store calls per grant",
      },
      {
        metric: "hottest key RCU/s, peak second (worst run)",
        value: worstRcu,
        digits: 0,
        goal: { op: "<", limit: 1_000 },
        summary: "limiter: hottest key RCU/s",
      },
      {
        metric: "hottest key WCU/s, peak second (worst run)",
        value: worstWcu,
        digits: 0,
        goal: { op: "<", limit: 333 },
        summary: "limiter: hottest key WCU/s",
      },
    );
  } finally {
    await provider.close();
    await proxy.close();
    await dynamo.close();
  }
  return {
    title: `shared DynamoDB limiter, R = ${R} per ${W} ms, provider answers in ${SERVICE_MS} ms, ${DURATION_MS / 1000} s per run (longer where a run says so)`,
    rows,
    notes: [
      ...notes,
      "processes are child processes, each one DynamoRateLimiter (one Lambda instance); the store is dynalite behind a counting proxy",
      "units are estimated from item sizes (size.ts): consistent read 1 RCU per started 4 KB, write 1 WCU per started KB, failed conditional writes counted; goals are a third of a partition's limits",
    ],
  };
}

function hottest(calls: readonly StoreCall[]) {
  const byKey = new Map<string, StoreCall[]>();
  for (const call of calls) byKey.set(call.pk, [...(byKey.get(call.pk) ?? []), call]);
  let hot: StoreCall[] = [];
  for (const list of byKey.values()) if (list.length > hot.length) hot = list;
  const seconds = new Map<number, { rcu: number; wcu: number }>();
  for (const call of hot) {
    const second = Math.floor(call.at / 1000);
    const bucket = seconds.get(second) ?? { rcu: 0, wcu: 0 };
    if (call.read) bucket.rcu += call.units;
    else bucket.wcu += call.units;
    seconds.set(second, bucket);
  }
  const buckets = [...seconds.values()];
  const span = Math.max(1, seconds.size);
  return {
    peakRcu: Math.max(0, ...buckets.map((b) => b.rcu)),
    peakWcu: Math.max(0, ...buckets.map((b) => b.wcu)),
    meanRcu: sum(buckets.map((b) => b.rcu)) / span,
    meanWcu: sum(buckets.map((b) => b.wcu)) / span,
    itemBytes: Math.max(0, ...hot.map((call) => call.bytes)),
  };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: readonly number[]) => (values.length === 0 ? 0 : sum(values) / values.length);
const pct = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? "-" : percentile(sorted, p / 100).toFixed(0);
