import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { tencentSign } from "../functions/providers/tencent/verify.ts";
import { type LocalStack, startLocalStack } from "../local/stack.ts";
import { AFTER_SEND_COMMAND, APP_ID, afterSendBody, randomUint32 } from "./callbacks.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { type Summary, summarize } from "./stats.ts";

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
/** The relay's overhead over the app's own answer, before-send, p99 (issue 16). */
const GOAL_OVERHEAD_P99_MS = 5;
/** Everything (warm-ups included) stops with an error after this long; the run takes far less. */
const HARD_LIMIT_MS = 50_000;
/** The after-sends must all have reached the app this long after the last one was answered. */
const DRAIN_LIMIT_MS = 20_000;

/** im-edit's callback token, and the app's own (forwards are re-signed with it: a valid Sign proves it). */
const TOKEN = "bench-relay-callback-token";
const APP_TOKEN = "bench-relay-apps-own-token";
const BEFORE_SEND_COMMAND = "C2C.CallbackBeforeSendMsg";
const CALLBACK_PATH = "/callbacks/tencent";
const APP_PATH = "/im/callback";
const TENCENT_OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const REWRITTEN_TEXT = "rewritten by the app";
const ANSWERS = {
  allow: Buffer.from(JSON.stringify(TENCENT_OK)),
  rewrite: Buffer.from(
    JSON.stringify({
      ...TENCENT_OK,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: REWRITTEN_TEXT } }],
    }),
  ),
} as const;
type AnswerKind = keyof typeof ANSWERS;

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

    const fmt = (ms: number) => ms.toFixed(3);
    const pair = (s: Summary) => `${fmt(s.p50)} / ${fmt(s.p99)} ms`;
    const sequentialRows = (name: AnswerKind, r: typeof allow): Row[] => [
      { metric: `${name}: direct to the app p50 / p99`, value: pair(r.direct) },
      { metric: `${name}: through im-edit p50 / p99`, value: pair(r.relayed) },
      {
        ...(name === "allow"
          ? { summary: "before-send relay overhead over the app's own answer, p99(relayed) − p99(direct)" }
          : {}),
        metric: `${name}: overhead p99(relayed) − p99(direct)`,
        value: r.relayed.p99 - r.direct.p99,
        unit: "ms",
        digits: 3,
        goal: { op: "<", limit: GOAL_OVERHEAD_P99_MS },
      },
      {
        metric: `${name}: overhead per request (relayed − direct, paired) p50`,
        value: r.paired.p50,
        unit: "ms",
        digits: 3,
      },
      {
        ...(name === "allow"
          ? { summary: "before-send relay overhead per request (relayed − direct, paired), p99" }
          : {}),
        metric: `${name}: overhead per request (relayed − direct, paired) p99`,
        value: r.paired.p99,
        unit: "ms",
        digits: 3,
        goal: { op: "<", limit: GOAL_OVERHEAD_P99_MS },
      },
    ];
    const rows: Row[] = [
      { metric: "sequential pairs per variant (after warm-up)", value: allow.relayed.n, digits: 0 },
      ...sequentialRows("allow", allow),
      ...sequentialRows("rewrite", rewrite),
      {
        metric: `${options.concurrency} in flight (closed loop), allow: direct p50 / p99`,
        value: pair(parallel.direct),
      },
      {
        metric: `${options.concurrency} in flight (closed loop), allow: through im-edit p50 / p99`,
        value: pair(parallel.relayed),
      },
      {
        metric: `${options.concurrency} in flight (closed loop): requests/s direct / through im-edit`,
        value: `${rate("direct").toFixed(0)} / ${rate("relayed").toFixed(0)}`,
      },
      {
        metric: "relayed before-sends answered with the app's decision",
        value: `${checks.relayedAsDecided} / ${checks.relayedSent}${checks.describeWrong()}`,
      },
      {
        metric: "relayed before-sends at the app, body byte-identical",
        value: `${checks.relayedBodiesIdentical(app)} / ${checks.relayedSent}`,
      },
      {
        metric: "requests at the app with a valid Sign (direct + relayed)",
        value: `${app.signed} / ${app.requests}`,
      },
      {
        metric: `after-sends, ${options.asyncConcurrency} in flight: provider answered p50 / p99`,
        value: pair(forwarded.answered),
      },
      {
        summary: `relay: ${forwarded.count} after-sends forwarded asynchronously, all at the app after`,
        metric: "after-sends: all at the app, from the first send",
        value: forwarded.allAtAppMs / 1000,
        unit: "s",
        digits: 2,
      },
      {
        metric: "after-sends: the last at the app after the last provider answer",
        value: forwarded.afterLastAnswerMs,
        unit: "ms",
        digits: 1,
      },
      {
        summary: "relay: asynchronous forwards at the app, body byte-identical",
        metric: "after-sends at the app, body byte-identical, valid Sign, message id",
        value: `${forwarded.identical} / ${forwarded.count}`,
      },
      {
        metric: "after-send deliveries / distinct X-Im-Edit-Forward-Id",
        value: `${forwarded.deliveries} / ${forwarded.distinct}`,
      },
      { metric: "spooled instead of stored", value: spooled, digits: 0 },
    ];
    return {
      title:
        "callback relay: a Tencent before-send through im-edit to a loopback app vs straight to the app; async after-send forwards (npm start's stack, persisted SQLite store, default log level)",
      rows,
      notes: [
        `sequential: ${options.warmup} warm-up pairs per variant, then ${options.iterations} per variant in ${options.rounds} alternating blocks each; a pair = a new C2C message POSTed straight to the app and through /callbacks/tencent (which first alternating), one request at a time on keep-alive connections`,
        `the app: node:http on 127.0.0.1, reads the body, checks Sign, answers at once: allow = ${ANSWERS.allow.toString()}; rewrite = the same with a MsgBody`,
        "relayed = verify, record the pending message, forward re-signed on the forwarder's pool, validate the answer, answer Tencent; paired = relayed − direct of the same message",
        `${options.concurrency} in flight: ${options.concurrentRounds} alternating blocks per way, ${options.concurrentRequests} requests per way after ${options.concurrency * 20} each of warm-up; closed loop without pauses: the client, im-edit and the app share this one process, which the relayed requests saturate, so their latency there is mostly waiting for it (in AWS each before-send has a recorder invocation of its own)`,
        `after-sends: ${forwarded.count} C2C after-sends, ${options.asyncConcurrency} at a time; each recorded, written to DATA_DIR/forwards (fsynced) before the answer, delivered to the app in the background`,
        "CALLBACK_FORWARD_FALLBACK=block for the run, so a before-send the app did not decide is visible (ErrorCode 1); the app checks Sign with its own token (TENCENT_FORWARD_CALLBACK_TOKEN), not im-edit's callback token",
        ...checks.problems.slice(0, 3),
        ...forwarded.problems.slice(0, 3),
      ],
    };
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await stack?.close();
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

type Way = "direct" | "relayed";

interface BeforeSend {
  readonly body: Buffer;
  readonly hash: string;
  readonly query: Readonly<Record<Way, string>>;
}

/** The query Tencent sends, signed now with `token`. */
function signedQuery(command: string, token: string): string {
  const requestTime = String(Math.floor(Date.now() / 1000));
  return `SdkAppid=${APP_ID}&CallbackCommand=${command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&RequestTime=${requestTime}&Sign=${tencentSign(token, requestTime)}`;
}

/** The documented C2C before-send with a message of its own. */
function beforeSendBody(run: string, i: number): Buffer {
  const seq = i + 1;
  const random = randomUint32();
  const time = Math.floor(Date.now() / 1000);
  return Buffer.from(
    JSON.stringify({
      CallbackCommand: BEFORE_SEND_COMMAND,
      From_Account: `relay-${run}-u${i}`,
      To_Account: `relay-${run}-v${i}`,
      MsgSeq: seq,
      MsgRandom: random,
      MsgTime: time,
      MsgKey: `${seq}_${random}_${time}`,
      MsgId: `${seq}-${time}-${random}`,
      OnlineOnlyFlag: 0,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: `hello ${i}` } }],
      CloudCustomData: "",
      EventTime: time * 1000,
    }),
  );
}

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** What the app received, by way: what the checks look at. */
interface App {
  readonly origin: string;
  answer: AnswerKind;
  requests: number;
  signed: number;
  /** Hashes of the before-send bodies that came through im-edit (they carry X-Im-Edit-Forward-Id). */
  readonly relayedBeforeSends: Set<string>;
  /** After-sends by forward id: each delivery's body hash, and its message id header. */
  readonly afterSends: Map<string, Array<{ hash: string; signed: boolean; messageId: boolean }>>;
  /** Called on each after-send delivery (the async part waits on it). */
  onAfterSend?: (() => void) | undefined;
  close(): Promise<void>;
}

/** The app's own callback handler on 127.0.0.1: checks Sign, answers before-sends as told, others OK. */
async function startApp(): Promise<App> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const query = new URL(req.url ?? "/", "http://app").searchParams;
      const requestTime = query.get("RequestTime") ?? "";
      const signed = query.get("Sign") === tencentSign(APP_TOKEN, requestTime);
      app.requests++;
      if (signed) app.signed++;
      const forwardId = req.headers["x-im-edit-forward-id"];
      const command = query.get("CallbackCommand");
      if (command === BEFORE_SEND_COMMAND) {
        if (typeof forwardId === "string") app.relayedBeforeSends.add(sha256(body));
        res.writeHead(200, { "content-type": "application/json" }).end(ANSWERS[app.answer]);
        return;
      }
      if (typeof forwardId === "string") {
        const deliveries = app.afterSends.get(forwardId) ?? [];
        deliveries.push({ hash: sha256(body), signed, messageId: "x-im-edit-message-id" in req.headers });
        app.afterSends.set(forwardId, deliveries);
        app.onAfterSend?.();
      }
      res.writeHead(200, { "content-type": "application/json" }).end(ANSWERS.allow);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const app: App = {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer: "allow",
    requests: 0,
    signed: 0,
    relayedBeforeSends: new Set(),
    afterSends: new Map(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return app;
}

/** Whether each before-send got what it should: the app's decision, relayed as Tencent would get it. */
class Checks {
  relayedSent = 0;
  relayedAsDecided = 0;
  readonly problems: string[] = [];
  private readonly wrong = new Map<string, number>();
  private readonly relayedHashes: string[] = [];

  answer(way: Way, expected: AnswerKind, status: number, text: string): void {
    const what = describeAnswer(status, text);
    if (way === "relayed") this.relayedSent++;
    const right = what === expected;
    if (right && way === "relayed") this.relayedAsDecided++;
    if (!right) {
      const key = `${way} ${expected}: ${what}`;
      this.wrong.set(key, (this.wrong.get(key) ?? 0) + 1);
      if (this.problems.length < 3) this.problems.push(`${key} (HTTP ${status}) ${text.slice(0, 120)}`);
    }
  }

  relayedBody(hash: string): void {
    this.relayedHashes.push(hash);
  }

  relayedBodiesIdentical(app: App): number {
    return this.relayedHashes.filter((hash) => app.relayedBeforeSends.has(hash)).length;
  }

  describeWrong(): string {
    if (this.wrong.size === 0) return "";
    return ` (${[...this.wrong].map(([key, n]) => `${key} ×${n}`).join(", ")})`;
  }
}

/** `allow`, `rewrite` (the app's MsgBody), or what else the answer was (`ErrorCode 1`: the fallback). */
function describeAnswer(status: number, text: string): string {
  if (status !== 200) return `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as {
      ErrorCode?: unknown;
      MsgBody?: Array<{ MsgContent?: { Text?: unknown } }>;
    };
    if (body.ErrorCode !== 0) return `ErrorCode ${String(body.ErrorCode)}`;
    if (body.MsgBody === undefined) return "allow";
    return body.MsgBody[0]?.MsgContent?.Text === REWRITTEN_TEXT ? "rewrite" : "another MsgBody";
  } catch {
    return "not JSON";
  }
}

/**
 * N after-sends through the stack, `asyncConcurrency` at a time: each answered once recorded and its
 * forward written to DATA_DIR/forwards; then the wait until the app has all N (by forward id), and
 * whether each arrived with the bytes sent, a valid Sign and the recorded message's id.
 */
async function asyncForwards(toStack: Pool, app: App, run: string, options: RelayBenchOptions) {
  const count = options.asyncForwards;
  const sent = new Set<string>();
  const answered: number[] = [];
  const problems: string[] = [];
  let allArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    allArrived = resolve;
  });
  let lastArrival = 0;
  app.onAfterSend = () => {
    lastArrival = performance.now();
    if (app.afterSends.size >= count) allArrived();
  };
  const time = Math.floor(Date.now() / 1000);
  const random = randomUint32();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const body = Buffer.from(
        afterSendBody({ from: `relay-${run}-a${i}`, to: `relay-${run}-b${i}`, seq: i + 1, random, time }),
      );
      sent.add(sha256(body));
      const query = signedQuery(AFTER_SEND_COMMAND, TOKEN);
      const t0 = performance.now();
      const response = await toStack.request({
        method: "POST",
        path: `${CALLBACK_PATH}?${query}`,
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await response.body.text();
      answered.push(performance.now() - t0);
      if (response.statusCode !== 200 && problems.length < 3) {
        problems.push(`after-send answered HTTP ${response.statusCode}: ${text.slice(0, 120)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.asyncConcurrency }, worker));
  const lastAnswer = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    arrived.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), DRAIN_LIMIT_MS);
    }),
  ]);
  clearTimeout(timer);
  app.onAfterSend = undefined;
  if (!drained) {
    problems.push(
      `only ${app.afterSends.size} of ${count} after-sends reached the app within ${DRAIN_LIMIT_MS} ms`,
    );
  }
  let identical = 0;
  let deliveries = 0;
  for (const got of app.afterSends.values()) {
    deliveries += got.length;
    if (got.every((d) => sent.has(d.hash) && d.signed && d.messageId)) identical++;
  }
  const distinctBodies = new Set([...app.afterSends.values()].flatMap((got) => got.map((d) => d.hash)));
  if (distinctBodies.size !== app.afterSends.size) {
    problems.push(`${app.afterSends.size} forward ids for ${distinctBodies.size} distinct bodies`);
  }
  return {
    count,
    answered: summarize(answered),
    allAtAppMs: drained ? lastArrival - started : Number.NaN,
    afterLastAnswerMs: drained ? Math.max(0, lastArrival - lastAnswer) : Number.NaN,
    identical,
    deliveries,
    distinct: app.afterSends.size,
    problems,
  };
}
