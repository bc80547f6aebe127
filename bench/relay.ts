import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { type LocalStack, startLocalStack } from "../local/stack.ts";
import { APP_ID } from "./callbacks.ts";
import { type AnswerKind, Checks, startApp } from "./relay-app.ts";
import {
  APP_PATH,
  APP_TOKEN,
  BEFORE_SEND_COMMAND,
  type BeforeSend,
  beforeSendBody,
  CALLBACK_PATH,
  sha256,
  signedQuery,
  TOKEN,
  type Way,
} from "./relay-callbacks.ts";
import { asyncForwards } from "./relay-forwards.ts";
import { relayResult } from "./relay-report.ts";
import type { BenchmarkResult } from "./report.ts";
import { summarize } from "./stats.ts";

/**
 * Benchmark "relay" (issue 16): what the callback relay adds to a before-send over the app's own answer
 * time, on loopback. The app's handler is a node:http server on 127.0.0.1 that checks `Sign` and answers
 * every before-send at once with a fixed decision: ErrorCode 0 (allow), then, as a second variant, a
 * rewritten MsgBody. Direct = a signed C2C before-send POSTed straight to the app; relayed = the same
 * bytes POSTed to the stack's /callbacks/tencent with TENCENT_CALLBACK_FORWARD_URL pointing at the app,
 * so im-edit verifies, records the pending message, forwards it re-signed, validates the app's answer and
 * renders it for Tencent. Sequential pairs (each message once each way, the order alternating), then
 * blocks with several requests in flight; then N after-sends through the stack, delivered to the app by
 * the forward queue in the background: how long until the app has all of them, byte for byte.
 *
 * On what `npm start` runs: the embedded SQLite store persisted under a temporary DATA_DIR (the forward
 * queue's files beside it), handlers logging at the default level, the app checking its own token
 * (TENCENT_FORWARD_CALLBACK_TOKEN), not im-edit's: a valid Sign at the app shows the forward was re-signed.
 * One deviation from the defaults: CALLBACK_FORWARD_FALLBACK=block, so a before-send the app did not
 * decide cannot pass for its "allow" (none is expected; each would be counted).
 */
export interface RelayBenchOptions {
  /** Sequential pairs per answer variant before the measured ones. */
  readonly warmup: number;
  /** Measured sequential pairs (direct + relayed, one message each) per answer variant. */
  readonly iterations: number;
  /** The measured pairs come in this many blocks per variant, the variants alternating. */
  readonly rounds: number;
  /** Requests in flight at once in the concurrent variant (the app allows). */
  readonly concurrency: number;
  /** Measured requests per way in the concurrent variant, in alternating blocks. */
  readonly concurrentRequests: number;
  readonly concurrentRounds: number;
  /** After-send callbacks forwarded asynchronously, and how many are sent at once. */
  readonly asyncForwards: number;
  readonly asyncConcurrency: number;
}

const DEFAULTS: RelayBenchOptions = {
  warmup: 200,
  iterations: 2000,
  rounds: 10,
  concurrency: 8,
  concurrentRequests: 1600,
  concurrentRounds: 4,
  asyncForwards: 1000,
  asyncConcurrency: 8,
};
/** Everything (warm-ups included) stops with an error after this long; the run takes far less. */
const HARD_LIMIT_MS = 50_000;

export async function relayOverhead(options: RelayBenchOptions = DEFAULTS): Promise<BenchmarkResult> {
  const app = await startApp();
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-bench-"));
  let stack: LocalStack | undefined;
  const pools: Pool[] = [];
  try {
    stack = await startLocalStack({
      env: {
        TABLE_NAME: "im-edit-bench",
        AWS_REGION: "local",
        TENCENT_SDKAPPID: APP_ID,
        TENCENT_CALLBACK_TOKEN: TOKEN,
        TENCENT_CALLBACK_FORWARD_URL: `${app.origin}${APP_PATH}`,
        TENCENT_FORWARD_CALLBACK_TOKEN: APP_TOKEN,
        CALLBACK_FORWARD_FALLBACK: "block",
        DATA_DIR: dataDir,
      },
      host: "127.0.0.1",
      port: 0,
      apiToken: "bench",
      persist: true,
      // Leave anything spooled in the spool, so the figures below see it instead of a late drain.
      drainIntervalMs: 60_000,
    });
    const connections = Math.max(options.concurrency, options.asyncConcurrency);
    const toApp = new Pool(app.origin, { connections, keepAliveTimeout: 30_000 });
    const toStack = new Pool(stack.url, { connections, keepAliveTimeout: 30_000 });
    pools.push(toApp, toStack);
    const run = randomBytes(4).toString("hex");
    const deadline = performance.now() + HARD_LIMIT_MS;
    const checks = new Checks();

    let sequence = 0;
    /** One before-send: its bytes, and its query signed now for im-edit and for the app (as Tencent would). */
    const nextBeforeSend = (): BeforeSend => {
      const i = sequence++;
      const body = beforeSendBody(run, i);
      return {
        body,
        hash: sha256(body),
        query: {
          direct: signedQuery(BEFORE_SEND_COMMAND, APP_TOKEN),
          relayed: signedQuery(BEFORE_SEND_COMMAND, TOKEN),
        },
      };
    };
    const post = async (way: Way, message: BeforeSend, answer: AnswerKind): Promise<number> => {
      if (performance.now() > deadline) throw new Error(`relay: still running after ${HARD_LIMIT_MS} ms`);
      const pool = way === "direct" ? toApp : toStack;
      const path = `${way === "direct" ? APP_PATH : CALLBACK_PATH}?${message.query[way]}`;
      const started = performance.now();
      const response = await pool.request({
        method: "POST",
        path,
        headers: { "content-type": "application/json" },
        body: message.body,
      });
      const text = await response.body.text();
      const ms = performance.now() - started;
      checks.answer(way, answer, response.statusCode, text);
      if (way === "relayed") checks.relayedBody(message.hash);
      return ms;
    };

    // Sequential: one request at a time, each message sent both ways, the order alternating per pair; the
    // two answer variants in alternating blocks, so warming up and the store's growth hit both alike.
    const times = {
      allow: { direct: [] as number[], relayed: [] as number[], paired: [] as number[] },
      rewrite: { direct: [] as number[], relayed: [] as number[], paired: [] as number[] },
    };
    const pairs = async (answer: AnswerKind, count: number, measure: boolean) => {
      app.answer = answer;
      for (let i = 0; i < count; i++) {
        const message = nextBeforeSend();
        const order: Way[] = i % 2 === 0 ? ["direct", "relayed"] : ["relayed", "direct"];
        const ms = { direct: 0, relayed: 0 };
        for (const way of order) ms[way] = await post(way, message, answer);
        if (!measure) continue;
        times[answer].direct.push(ms.direct);
        times[answer].relayed.push(ms.relayed);
        times[answer].paired.push(ms.relayed - ms.direct);
      }
    };
    await pairs("allow", options.warmup, false);
    await pairs("rewrite", options.warmup, false);
    const perRound = Math.ceil(options.iterations / options.rounds);
    for (let round = 0; round < options.rounds; round++) {
      const count = Math.min(perRound, options.iterations - round * perRound);
      const order: AnswerKind[] = round % 2 === 0 ? ["allow", "rewrite"] : ["rewrite", "allow"];
      for (const answer of order) await pairs(answer, count, true);
    }
    const summaries = (answer: AnswerKind) => ({
      direct: summarize(times[answer].direct),
      relayed: summarize(times[answer].relayed),
      paired: summarize(times[answer].paired),
    });
    const allow = summaries("allow");
    const rewrite = summaries("rewrite");

    // Concurrent: `concurrency` requests in flight, direct and relayed in alternating blocks.
    app.answer = "allow";
    const concurrent = { direct: [] as number[], relayed: [] as number[] };
    const blockMs = { direct: 0, relayed: 0 };
    const perBlock = Math.ceil(options.concurrentRequests / options.concurrentRounds);
    const block = async (way: Way, count: number, into?: number[]) => {
      let left = count;
      const worker = async () => {
        while (left > 0) {
          left--;
          const ms = await post(way, nextBeforeSend(), "allow");
          into?.push(ms);
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
    };
    await block("direct", options.concurrency * 20);
    await block("relayed", options.concurrency * 20);
    for (let round = 0; round < options.concurrentRounds; round++) {
      const order: Way[] = round % 2 === 0 ? ["direct", "relayed"] : ["relayed", "direct"];
      for (const way of order) {
        const started = performance.now();
        await block(way, perBlock, concurrent[way]);
        blockMs[way] += performance.now() - started;
      }
    }
    const rate = (way: Way) => (concurrent[way].length / blockMs[way]) * 1000;
    const parallel = { direct: summarize(concurrent.direct), relayed: summarize(concurrent.relayed) };

    const forwarded = await asyncForwards(toStack, app, run, options);
    const spooled = (await stack.spool.pending()).length;

    return relayResult({ options, allow, rewrite, parallel, rate, checks, app, forwarded, spooled });
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await stack?.close();
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
