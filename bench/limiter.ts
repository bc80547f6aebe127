import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { text as readAll } from "node:stream/consumers";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { fromAttributeValues } from "../functions/adapters/dynamodb/items.ts";
import { itemSize } from "../functions/adapters/dynamodb/size.ts";
import { ensureTable, startDynalite } from "../local/dynamo.ts";
import { runClientProcess } from "./child.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { percentile } from "./stats.ts";

/**
 * Benchmark "limiter": the shared DynamoDB limiter (functions/adapters/dynamodb/limiter.ts) at the
 * provider's full rate, as in AWS: 1 to 4 processes (this file run as a child, each one DynamoRateLimiter
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
const R = 180;
const W = 1000;
const SERVICE_MS = 5;
const DURATION_MS = 6_000;
/** The first second is the start (leases being taken): the rate is measured after it. */
const WARMUP_MS = 1_000;
const TABLE_NAME = "im-edit-limiter-bench";
const KEY = "tencent:1400000000:modify_c2c_msg";
const SELF = fileURLToPath(import.meta.url);

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

/** What a child is told (stdin, JSON). */
interface ChildJob {
  readonly endpoint: string;
  readonly table: string;
  readonly provider: string;
  readonly callers: number;
  readonly background: number;
  readonly budgetMs: number;
  readonly backgroundBudgetMs: number;
  readonly thinkMs: number;
  readonly startAt: number;
  readonly durationMs: number;
}

/** What a child reports (stdout, one JSON line). */
interface ChildReport {
  readonly grants: number;
  readonly late: number;
  readonly refused: number;
  readonly cancelled: number;
  readonly waitsMs: number[];
  readonly interactiveWaitsMs: number[];
  readonly interactiveRefused: number;
  readonly serviceMs: number[];
}

interface StoreCall {
  readonly at: number;
  readonly op: string;
  readonly pk: string;
  readonly units: number;
  readonly bytes: number;
  readonly read: boolean;
}

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
            script: SELF,
            cwd: join(dirname(SELF), ".."),
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

/** The most timestamps (sorted) inside any half-open span of `windowMs`. */
function maxInWindow(sorted: readonly number[], windowMs: number): number {
  let max = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= windowMs) first++;
    max = Math.max(max, last - first + 1);
  }
  return max;
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

/** An HTTP proxy in front of the store that notes each DynamoDB call: operation, key, size, units. */
async function countingProxy(target: string, calls: StoreCall[]) {
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    const body = await readAll(req);
    const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "?";
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      async (answer: IncomingMessage) => {
        const text = await readAll(answer);
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        res.end(text);
        noteCall(calls, op, body, text);
      },
    );
    forward.on("error", () => {
      res.writeHead(502).end();
    });
    forward.end(body);
  });
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

function noteCall(calls: StoreCall[], op: string, requestText: string, answerText: string): void {
  try {
    const input = JSON.parse(requestText) as {
      Key?: Record<string, AttributeValue>;
      Item?: Record<string, AttributeValue>;
    };
    const answer = answerText ? (JSON.parse(answerText) as { Item?: Record<string, AttributeValue> }) : {};
    const keyItem = input.Item ?? input.Key ?? {};
    const pk = String(fromAttributeValues(keyItem).pk ?? "?");
    const read = op === "GetItem" || op === "Query";
    let size = 0;
    if (read && answer.Item) size = itemSize(fromAttributeValues(answer.Item));
    if (!read && input.Item) size = itemSize(fromAttributeValues(input.Item));
    const units = read ? Math.max(1, Math.ceil(size / 4096)) : Math.max(1, Math.ceil(size / 1024));
    calls.push({ at: Date.now(), op, pk, units, bytes: size, read });
  } catch {
    calls.push({ at: Date.now(), op, pk: "?", units: 1, bytes: 0, read: false });
  }
}

/** The provider: stamps each call's arrival, answers after SERVICE_MS. */
async function fakeProvider(arrivals: number[]) {
  const server = createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    setTimeout(() => res.end('{"ActionStatus":"OK","ErrorCode":0}'), SERVICE_MS);
  });
  server.keepAliveTimeout = 30_000;
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: readonly number[]) => (values.length === 0 ? 0 : sum(values) / values.length);
const pct = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? "-" : percentile(sorted, p / 100).toFixed(0);

/** The child: one process's limiter and callers, then one JSON line. */
async function child(key: string): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const job = JSON.parse(await readAll(process.stdin)) as ChildJob;
  const { Agent } = await import("node:http");
  const { createDocumentClient } = await import("../functions/adapters/dynamodb/client.ts");
  const { DynamoRateLimiter } = await import("../functions/adapters/dynamodb/limiter.ts");
  const { inBackground } = await import("../functions/core/limiter.ts");
  const { TooManyRequestsError } = await import("../functions/core/errors.ts");
  const limiter = new DynamoRateLimiter(
    createDocumentClient({ region: "local", endpoint: job.endpoint }),
    job.table,
    () => ({ limit: R, windowMs: W }),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const provider = new URL(job.provider);
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: provider.hostname, port: provider.port, method: "POST", path: "/v4/openim/modify", agent },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
  const report: { -readonly [K in keyof ChildReport]: ChildReport[K] } = {
    grants: 0,
    late: 0,
    refused: 0,
    cancelled: 0,
    waitsMs: [],
    interactiveWaitsMs: [],
    interactiveRefused: 0,
    serviceMs: [],
  };
  const stopAt = job.startAt + job.durationMs;
  const caller = async (background: boolean) => {
    while (Date.now() < stopAt) {
      const once = async () => {
        const budget = background ? job.backgroundBudgetMs : job.budgetMs;
        const asked = Date.now();
        try {
          const slot = await limiter.acquire(key, budget);
          const granted = Date.now();
          report.grants++;
          if (granted - asked > budget) report.late++;
          report.waitsMs.push(granted - asked);
          if (!background) report.interactiveWaitsMs.push(granted - asked);
          try {
            await call();
          } finally {
            report.serviceMs.push(Date.now() - granted);
            await slot.release();
          }
        } catch (error: unknown) {
          if (!(error instanceof TooManyRequestsError)) throw error;
          report.refused++;
          if (!background) report.interactiveRefused++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await (background ? inBackground(undefined, once) : once());
      if (!background && job.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, job.thinkMs));
    }
  };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, job.startAt - Date.now())));
  // Interactive callers who pause between edits start spread over one pause (people, not a burst).
  const spread = (index: number) =>
    new Promise((resolve) => setTimeout(resolve, job.thinkMs > 0 ? (job.thinkMs * index) / job.callers : 0));
  await Promise.all([
    ...Array.from({ length: job.callers }, (_, index) => spread(index).then(() => caller(false))),
    ...Array.from({ length: job.background }, () => caller(true)),
  ]);
  agent.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Timers of the limiter's lease upkeep would keep the process a little longer: done is done.
  process.exit(0);
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const index = process.argv.indexOf("--child");
  await child(process.argv[index + 1] ?? KEY);
}
