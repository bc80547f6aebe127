import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtemp, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { contentHash, type MessageHead } from "../functions/core/model.ts";
import { logger } from "../functions/logger.ts";
import { type LocalDynamo, startDynalite } from "../local/dynamo.ts";
import { type LocalStack, startLocalStack } from "../local/stack.ts";
import { APP_ID, fixtureContent } from "./callbacks.ts";
import { runClientProcess } from "./child.ts";
import { LoadReport } from "./load-report.ts";
import { logCounters } from "./log-sink.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { type Summary, summarize } from "./stats.ts";

/**
 * Benchmark 2: latency of the local server (real handlers, this process) under an open-loop load of C2C
 * after-send callbacks from a separate process on loopback. Then checks that the callbacks were really
 * recorded. The headline runs what `npm start` runs: the embedded SQLite store persisted under a
 * temporary DATA_DIR, the handlers logging at the default level. A lighter variant (in-memory store,
 * logs silenced) runs beside it, labelled as such, to show what the persistence and the logs cost.
 */
export interface LoadBenchOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Sequential requests before the schedule starts, not measured. */
  readonly warmup: number;
  /** The load client is killed after this long. */
  readonly timeoutMs: number;
  /** Heads spot-checked against their version item. */
  readonly spotChecks: number;
  /** Also run the lighter variant (in-memory store, logs silenced). */
  readonly lighter: boolean;
  /** Also run the store npm start used before the embedded one (dynalite persisted, in this process). */
  readonly dynalite: boolean;
}

interface Variant {
  /** Persist the store in DATA_DIR, as `npm start` does (else in memory). */
  readonly persist: boolean;
  /** Silence the handlers' logs for the run (else the default level). */
  readonly silent: boolean;
  /** The DynamoDB adapter on dynalite persisted in DATA_DIR instead of the embedded store. */
  readonly dynalite?: true;
}

const NPM_START: Variant = { persist: true, silent: false };
const LIGHTER: Variant = { persist: false, silent: true };
const DYNALITE: Variant = { persist: true, silent: false, dynalite: true };

const DEFAULTS: LoadBenchOptions = {
  ratePerSecond: 200,
  durationSeconds: 5,
  warmup: 50,
  timeoutMs: 15_000,
  spotChecks: 20,
  lighter: true,
  dynalite: true,
};
const GOAL_P99_MS = 50;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLIENT = fileURLToPath(new URL("./load-client.ts", import.meta.url));

export async function serverLoad(options: LoadBenchOptions = DEFAULTS): Promise<BenchmarkResult> {
  const main = await runVariant(options, NPM_START);
  const rows = [...main.rows];
  const notes = [...main.notes];
  if (options.lighter) {
    rows.push(
      ...variantRows(
        "lighter variant, in-memory store, logs silenced (not npm start)",
        await runVariant(options, LIGHTER),
      ),
    );
    notes.push(
      "lighter variant: the same load on a fresh stack with the store in memory and the logger set to SILENT; not what npm start runs",
    );
  }
  if (options.dynalite) {
    rows.push(
      ...variantRows(
        "before the embedded store: DynamoDB adapter on dynalite persisted in DATA_DIR",
        await runVariant(options, DYNALITE),
      ),
    );
    notes.push(
      "dynalite variant: the same load with the DynamoDB adapter on dynalite persisted under DATA_DIR in this process, what npm start ran before the embedded store (today: DYNAMODB_ENDPOINT); why the embedded store is the default",
    );
  }
  return {
    title: `npm start's stack (persisted SQLite store, default log level), open loop ${options.ratePerSecond}/s for ${options.durationSeconds} s`,
    rows,
    notes,
  };
}

async function runVariant(
  options: LoadBenchOptions,
  variant: Variant,
): Promise<{ report: LoadReport; stored: StoredCheck; rows: Row[]; notes: string[] }> {
  const count = options.ratePerSecond * options.durationSeconds;
  const intervalMs = 1000 / options.ratePerSecond;
  const sender = `bench-${randomBytes(4).toString("hex")}`;
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-bench-"));
  const level = logger.getLevelName();
  let stack: LocalStack | undefined;
  let dynamo: LocalDynamo | undefined;
  try {
    if (variant.dynalite) dynamo = await startDynalite({ path: join(dataDir, "dynalite") });
    stack = await startLocalStack({
      ...(dynamo ? { dynamodbEndpoint: dynamo.endpoint } : {}),
      env: { TABLE_NAME: "im-edit-bench", AWS_REGION: "local", TENCENT_SDKAPPID: APP_ID, DATA_DIR: dataDir },
      host: "127.0.0.1",
      port: 0,
      apiToken: "bench",
      persist: variant.persist,
      // Leave anything spooled in the spool, so the check below sees it instead of a late drain.
      drainIntervalMs: 60_000,
    });
    if (variant.silent) logger.setLogLevel("SILENT");
    const logsBefore = logCounters();
    const probe = new ServerProbe(Number(new URL(stack.url).port));
    let output: string;
    try {
      output = await runClient(
        [stack.url, sender, String(count), String(intervalMs), String(options.warmup)],
        options.timeoutMs,
      );
    } finally {
      probe.close();
      logger.setLogLevel(level);
    }
    const logsAfter = logCounters();
    const report = LoadReport.parse(JSON.parse(output));
    const stored = await verifyStored(stack, sender, options.spotChecks);
    const { rows, notes } = rowsOf(report, stored, probe);
    const requests = count + options.warmup;
    rows.push({
      metric: "store, log level",
      value: `${stack.storeDescription.replace(dataDir, "<temp DATA_DIR>")}, ${variant.silent ? "SILENT" : level}`,
    });
    if (!variant.silent) {
      rows.push({
        metric: "log lines / bytes per callback",
        value: `${((logsAfter.lines - logsBefore.lines) / requests).toFixed(2)} / ${((logsAfter.bytes - logsBefore.bytes) / requests).toFixed(0)} B`,
      });
    }
    return { report, stored, rows, notes: [...(notes ?? [])] };
  } finally {
    logger.setLogLevel(level);
    await stack?.close();
    await dynamo?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Runs the load client in its own process, bounded by `timeoutMs`; resolves with its stdout. */
function runClient(args: readonly string[], timeoutMs: number): Promise<string> {
  return runClientProcess({ script: CLIENT, cwd: ROOT, label: "load client", timeoutMs, args });
}

interface StoredCheck {
  readonly listed: number;
  readonly sentV1: number;
  readonly distinctKeys: number;
  readonly spotChecked: number;
  readonly spotOk: number;
  readonly spooled: number;
}

/** Lists every head of this run's sender, and spot-checks a sample against getHead and version 1. */
async function verifyStored(stack: LocalStack, sender: string, spotChecks: number): Promise<StoredCheck> {
  const { store } = stack.deps;
  const heads: MessageHead[] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.list({
      provider: "tencent",
      appId: APP_ID,
      sender,
      limit: 100,
      ...(nextToken !== undefined ? { nextToken } : {}),
    });
    heads.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);

  const expectedHash = contentHash(fixtureContent);
  const step = Math.max(1, Math.floor(heads.length / spotChecks));
  const sample = heads.filter((_, i) => i % step === 0).slice(0, spotChecks);
  const checks = await Promise.all(
    sample.map(async ({ id }) => {
      const [head, version] = await Promise.all([store.getHead(id), store.getVersion(id, 1)]);
      return (
        head?.state === "sent" &&
        head.version === 1 &&
        head.contentHash === expectedHash &&
        version?.contentHash === expectedHash &&
        version.source === "callback"
      );
    }),
  );
  return {
    listed: heads.length,
    sentV1: heads.filter((head) => head.state === "sent" && head.version === 1).length,
    distinctKeys: new Set(heads.map((head) => head.key.msgKey)).size,
    spotChecked: sample.length,
    spotOk: checks.filter(Boolean).length,
    spooled: (await stack.spool.pending()).length,
  };
}

/**
 * Server-side view, to tell where the client's latency goes: time from the server parsing a request's
 * headers to finishing its response (node:http diagnostics channels), and this process's event-loop delay.
 */
class ServerProbe {
  private readonly started = new WeakMap<ServerResponse, number>();
  private readonly times: number[] = [];
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });
  private readonly onStart = (message: unknown) => {
    const { server, response } = message as { server: Server; response: ServerResponse };
    if ((server.address() as AddressInfo | null)?.port === this.port)
      this.started.set(response, performance.now());
  };
  private readonly onFinish = (message: unknown) => {
    const start = this.started.get((message as { response: ServerResponse }).response);
    if (start !== undefined) this.times.push(performance.now() - start);
  };

  constructor(private readonly port: number) {
    subscribe("http.server.request.start", this.onStart);
    subscribe("http.server.response.finish", this.onFinish);
    this.loop.enable();
  }

  close(): void {
    unsubscribe("http.server.request.start", this.onStart);
    unsubscribe("http.server.response.finish", this.onFinish);
    this.loop.disable();
  }

  /** Includes the client's warm-up requests. */
  serverTimes(): Summary {
    return summarize(this.times);
  }

  loopDelayMs(): { p99: number; max: number } {
    return { p99: this.loop.percentile(99) / 1e6, max: this.loop.max / 1e6 };
  }
}

function rowsOf(
  report: LoadReport,
  stored: StoredCheck,
  probe: ServerProbe,
): { rows: Row[]; notes: string[] } {
  const failed = report.sent - report.answered;
  // Unanswered requests count as slower than every answered one, so failures cannot flatter the tail.
  const latency = summarize([...report.latenciesMs, ...Array<number>(failed).fill(Number.POSITIVE_INFINITY)]);
  const answered = summarize(report.latenciesMs);
  const statuses = Object.entries(report.statuses)
    .map(([status, n]) => `${status}×${n}`)
    .join(", ");
  const errors = Object.entries(report.errors)
    .map(([code, n]) => `${code}×${n}`)
    .join(", ");
  const server = probe.serverTimes();
  const loop = probe.loopDelayMs();
  const rows: Row[] = [
    { metric: "requests scheduled / sent", value: `${report.scheduled} / ${report.sent}` },
    { metric: "achieved send rate", value: report.sendRate, unit: "req/s", digits: 1 },
    { metric: "answered 200 OK", value: report.ok, digits: 0 },
    { metric: "responses by status", value: statuses === "" ? "none" : statuses },
    { metric: "errors / unanswered", value: `${errors === "" ? "0" : errors} / ${report.unfinished}` },
    { metric: "latency p50", value: latency.p50, unit: "ms" },
    { metric: "latency p90", value: latency.p90, unit: "ms" },
    {
      summary: "npm start's stack at 200 callbacks/s open loop for 5 s: latency p99",
      metric: "latency p99",
      value: latency.p99,
      unit: "ms",
      goal: { op: "<", limit: GOAL_P99_MS },
    },
    { metric: "latency max", value: latency.max, unit: "ms" },
    { metric: "latency mean (answered)", value: answered.mean, unit: "ms" },
    { metric: "client max send lag (in latency)", value: report.maxSendLagMs, unit: "ms" },
    {
      metric: "server time p50 / p99 / max",
      value: `${fmt(server.p50)} / ${fmt(server.p99)} / ${fmt(server.max)} ms`,
    },
    { metric: "server event-loop delay p99 / max", value: `${fmt(loop.p99)} / ${fmt(loop.max)} ms` },
    {
      metric: "heads stored for this run",
      value: `${stored.listed} (${stored.sentV1} sent v1, ${stored.distinctKeys} keys)`,
    },
    { metric: "stored / answered 200 OK", value: `${stored.listed} / ${report.ok}` },
    { metric: "spot checks (head + version 1)", value: `${stored.spotOk} / ${stored.spotChecked} ok` },
    { metric: "spooled instead of stored", value: stored.spooled, digits: 0 },
  ];
  return {
    rows,
    notes: [
      `latency = scheduled send time → response body read, in the client process; unanswered requests count as ∞`,
      `warm-up: ${report.warmupRequests} sequential callbacks in ${report.warmupMs.toFixed(0)} ms before the schedule, not measured`,
      "server, handlers and the store share this process's event loop (as under npm start); the client is a separate Node process",
      "log lines are written synchronously to a file, as npm start's stdout to a file or terminal",
      "server time = request headers parsed → response finished, seen in the server process (warm-up included)",
    ],
  };
}

/** A variant's headline beside the main run: its latency (unanswered as ∞) and where its callbacks went. */
function variantRows(label: string, run: { report: LoadReport; stored: StoredCheck }): Row[] {
  const latency = summarize([
    ...run.report.latenciesMs,
    ...Array<number>(run.report.sent - run.report.answered).fill(Number.POSITIVE_INFINITY),
  ]);
  return [
    {
      summary: `${label}: latency p50 / p99 / max at the same rate`,
      metric: `${label}: latency p50 / p99 / max`,
      value: `${fmt(latency.p50)} / ${fmt(latency.p99)} / ${fmt(latency.max)} ms`,
    },
    {
      metric: `${label}: 200 OK / stored / spooled`,
      value: `${run.report.ok} / ${run.stored.listed} / ${run.stored.spooled}`,
    },
  ];
}

const fmt = (ms: number): string => ms.toFixed(2);
