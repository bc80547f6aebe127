/**
 * The load generator for the server-load benchmark, run as its own process:
 *   node --import tsx bench/load-client.ts <url> <sender> <count> <intervalMs> <warmup>
 * Open loop: request i is sent at start + i * intervalMs whether or not earlier ones were answered,
 * and its latency is measured from that scheduled time (no coordinated omission). Prints one JSON line.
 */
// The parent sets these in this process's environment already (imports are hoisted above any code);
// repeated here for a client started by hand. Nothing imported below reads them.
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.AWS_EC2_METADATA_DISABLED = "true";

import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { afterSendBody, CALLBACK_PATH, randomUint32 } from "./callbacks.ts";
import type { LoadReport } from "./load-report.ts";

const CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 5_000;
/** After the last send, wait at most this long for answers. */
const DRAIN_MS = 5_000;
/** The whole client stops by itself no later than this. */
const HARD_LIMIT_MS = 14_000;

const [url = "", sender = "", countArg = "1000", intervalArg = "5", warmupArg = "50"] = process.argv.slice(2);
const origin = new URL(url);
if (origin.hostname !== "127.0.0.1") throw new Error(`refusing to load anything but 127.0.0.1 (got ${url})`);
if (sender === "") throw new Error("usage: load-client.ts <url> <sender> <count> <intervalMs> <warmup>");
const count = Number(countArg);
const intervalMs = Number(intervalArg);
const warmup = Number(warmupArg);

setTimeout(() => {
  process.stderr.write(`load-client: still running after ${HARD_LIMIT_MS} ms, giving up\n`);
  process.exit(3);
}, HARD_LIMIT_MS).unref();

const pool = new Pool(origin.origin, {
  connections: CONNECTIONS,
  connectTimeout: 2_000,
  headersTimeout: REQUEST_TIMEOUT_MS,
  bodyTimeout: REQUEST_TIMEOUT_MS,
});

/** Posts one callback and always reads the whole answer, so the connection can be reused. */
async function post(body: string): Promise<{ status: number; ok: boolean }> {
  const response = await pool.request({
    method: "POST",
    path: CALLBACK_PATH,
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    ok: response.statusCode === 200 && text.includes('"ActionStatus":"OK"'),
  };
}

const time = Math.floor(Date.now() / 1000);
const random = randomUint32();
const message = (from: string, i: number) =>
  afterSendBody({ from, to: `peer-${i % 20}`, seq: i + 1, random, time });

try {
  // Warm the server's code paths and one connection; these are stored under another sender and not measured.
  const warmupStarted = performance.now();
  for (let i = 0; i < warmup; i++) await post(message(`${sender}-warmup`, i));
  const warmupMs = performance.now() - warmupStarted;

  const bodies = Array.from({ length: count }, (_, i) => message(sender, i));
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  let ok = 0;
  let maxSendLagMs = 0;
  let firstSendAt = 0;
  let lastSendAt = 0;

  const fire = async (i: number, scheduledAt: number): Promise<void> => {
    const now = performance.now();
    if (sent === 0) firstSendAt = now;
    lastSendAt = now;
    sent++;
    maxSendLagMs = Math.max(maxSendLagMs, now - scheduledAt);
    try {
      const result = await post(bodies[i] ?? "");
      latenciesMs.push(Math.round((performance.now() - scheduledAt) * 1000) / 1000);
      answered++;
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      if (result.ok) ok++;
    } catch (error: unknown) {
      const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "unknown";
      errors[code] = (errors[code] ?? 0) + 1;
    }
  };

  const inflight: Promise<void>[] = [];
  const start = performance.now() + 10;
  let next = 0;
  while (next < count) {
    const due = start + next * intervalMs;
    const now = performance.now();
    if (due > now) {
      await sleep(due - now);
      continue;
    }
    // Fire everything that is due (catches up if a timer fired late; latency still counts from `due`).
    while (next < count && start + next * intervalMs <= performance.now()) {
      inflight.push(fire(next, start + next * intervalMs));
      next++;
    }
  }
  const drained = Promise.all(inflight).then(() => true);
  await Promise.race([drained, sleep(DRAIN_MS, false, { ref: false })]);
  const failed = Object.values(errors).reduce((total, n) => total + n, 0);

  const report: LoadReport = {
    scheduled: count,
    sent,
    answered,
    ok,
    unfinished: sent - answered - failed,
    statuses,
    errors,
    latenciesMs,
    sendRate: sent > 1 ? ((sent - 1) * 1000) / (lastSendAt - firstSendAt) : 0,
    maxSendLagMs,
    warmupRequests: warmup,
    warmupMs,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await pool.destroy();
}
