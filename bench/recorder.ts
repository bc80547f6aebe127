import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { createDependencies } from "../functions/clients.ts";
import { loadConfig } from "../functions/config.ts";
import { c2cId } from "../functions/providers/tencent/identity.ts";
import { handler } from "../functions/recorder.ts";
import { setDependencies } from "../functions/wiring/cold-start.ts";
import { ensureTable, startDynalite } from "../local/dynamo.ts";
import {
  type AfterSend,
  APP_ID,
  afterSendBody,
  fixtureContent,
  fixtureMsgId,
  msgKeyOf,
  randomUint32,
} from "./callbacks.ts";
import { WireLog } from "./dynamo-wire.ts";
import { callbackEvent, lambdaContext } from "./handler-invocation.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { summarize } from "./stats.ts";

/**
 * Benchmark 1: what the recorder handler costs per new C2C after-send, against the bare DynamoDB
 * writes it has to make (version put + head put, both conditional) on the same dynalite.
 * Both variants run in alternating blocks (A B, B A, ...) so drift (table growth, GC, JIT) hits both.
 */
export interface RecorderBenchOptions {
  readonly warmup: number;
  readonly iterations: number;
  readonly rounds: number;
}

const DEFAULTS: RecorderBenchOptions = { warmup: 200, iterations: 2000, rounds: 10 };
const GOAL_RATIO = 1.3;
const TABLE_NAME = "im-edit-bench";

type Op = (i: number) => Promise<number>;

export async function recorderOverhead(options: RecorderBenchOptions = DEFAULTS): Promise<BenchmarkResult> {
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-bench-"));
  const dynamo = await startDynalite();
  const calls = new WireLog(dynamo.endpoint);
  try {
    await ensureTable(dynamo.endpoint, TABLE_NAME);
    const config = loadConfig({
      TABLE_NAME,
      AWS_REGION: "local",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      TENCENT_SDKAPPID: APP_ID,
      DATA_DIR: dataDir,
    });
    setDependencies(createDependencies(config));
    // The same client settings the handler's store gets (clients.ts), so only the handler differs.
    const client = createDocumentClient({
      region: config.region,
      endpoint: dynamo.endpoint,
      maxAttempts: 2,
      requestTimeoutMs: Math.ceil(config.callbackStoreBudgetMs / 2),
    });
    try {
      const run = randomBytes(4).toString("hex");
      const peers = { from: "jared", to: `bench-${run}` };
      const time = Math.floor(Date.now() / 1000);
      const handlerRandom = randomUint32();
      const rawRandom = randomUint32();
      const handlerMessage = (i: number): AfterSend => ({
        ...peers,
        seq: i + 1,
        random: handlerRandom,
        time,
      });
      const rawMessage = (i: number): AfterSend => ({ ...peers, seq: i + 1, random: rawRandom, time });
      const rawId = (i: number): string => `c2c_r${run}${String(i).padStart(17, "0")}`;

      let failures = 0;
      const viaHandler: Op = async (i) => {
        const event = callbackEvent(afterSendBody(handlerMessage(i)));
        const context = lambdaContext();
        const started = performance.now();
        const result = await handler(event, context);
        const elapsed = performance.now() - started;
        if (!("statusCode" in result) || result.statusCode !== 200) failures++;
        return elapsed;
      };
      const contentHash = createHash("sha256").update(JSON.stringify(fixtureContent)).digest("base64url");
      const viaRaw: Op = async (i) => {
        const { version, head } = rawItems(rawMessage(i), rawId(i), contentHash);
        const started = performance.now();
        await client.send(
          new PutCommand({
            TableName: TABLE_NAME,
            Item: version,
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
        await client.send(
          new PutCommand({
            TableName: TABLE_NAME,
            Item: head,
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
        return performance.now() - started;
      };

      const handlerTimes: number[] = [];
      const rawTimes: number[] = [];
      let next = 0;
      const block = async (op: Op, count: number, into?: number[]) => {
        for (let k = 0; k < count; k++) {
          const elapsed = await op(next++);
          into?.push(elapsed);
        }
      };
      await block(viaHandler, options.warmup);
      await block(viaRaw, options.warmup);
      calls.reset();
      const perRound = Math.ceil(options.iterations / options.rounds);
      const wallStart = performance.now();
      for (let round = 0; round < options.rounds; round++) {
        const count = Math.min(perRound, options.iterations - round * perRound);
        const order: Array<[Op, number[]]> = [
          [viaHandler, handlerTimes],
          [viaRaw, rawTimes],
        ];
        if (round % 2 === 1) order.reverse();
        for (const [op, into] of order) {
          calls.phase = op === viaHandler ? "handler" : "raw";
          await block(op, count, into);
        }
      }
      const wallMs = performance.now() - wallStart;
      calls.phase = "check";

      const shapes = await compareShapes(
        client,
        c2cId(APP_ID, peers.from, peers.to, msgKeyOf(handlerMessage(0))),
        rawId(options.warmup),
      );
      const spooled = (await readdir(join(dataDir, "spool")).catch(() => [])).filter((name) =>
        name.endsWith(".json"),
      ).length;

      const h = summarize(handlerTimes);
      const r = summarize(rawTimes);
      const rows: Row[] = [
        { metric: "iterations per variant (after warm-up)", value: h.n, digits: 0 },
        { metric: "handler mean", value: h.mean, unit: "ms", digits: 3 },
        { metric: "handler p50", value: h.p50, unit: "ms", digits: 3 },
        { metric: "handler p99", value: h.p99, unit: "ms", digits: 3 },
        { metric: "raw writes mean", value: r.mean, unit: "ms", digits: 3 },
        { metric: "raw writes p50", value: r.p50, unit: "ms", digits: 3 },
        { metric: "raw writes p99", value: r.p99, unit: "ms", digits: 3 },
        { metric: "overhead per callback (mean)", value: h.mean - r.mean, unit: "ms", digits: 3 },
        { metric: "ratio handler/raw (p50)", value: h.p50 / r.p50, unit: "x" },
        { metric: "ratio handler/raw (p99)", value: h.p99 / r.p99, unit: "x" },
        {
          metric: "ratio handler/raw (mean)",
          value: h.mean / r.mean,
          unit: "x",
          goal: { op: "<=", limit: GOAL_RATIO },
        },
        { metric: "DynamoDB calls per handler op", value: calls.describe("handler", h.n) },
        { metric: "DynamoDB calls per raw op", value: calls.describe("raw", r.n) },
        { metric: "item shapes (attribute names)", value: shapes.equal ? "same" : "DIFFERENT" },
        { metric: "handler non-200 / spooled", value: `${failures} / ${spooled}` },
      ];
      return {
        title: "recorder handler vs raw DynamoDB writes (in-process, same dynalite)",
        rows,
        notes: [
          `warm-up ${options.warmup} per variant, then ${options.rounds} alternating rounds; measured part took ${(wallMs / 1000).toFixed(1)} s`,
          "raw = conditional PutItem of the version item, then of the head item with its index attributes; items built before the clock starts",
          "handler = the middy handler on an API Gateway v2 event (parse, verify, validate, id, hash, both writes, ack); dynalite runs in this process",
          ...shapes.differences,
        ],
      };
    } finally {
      client.destroy();
    }
  } finally {
    calls.close();
    setDependencies(undefined);
    await dynamo.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The items Recorder.applySent + DynamoMessageStore write for a new C2C after-send, spelled out. */
function rawItems(m: AfterSend, id: string, contentHash: string) {
  const sentAt = new Date(m.time * 1000).toISOString();
  const msgKey = msgKeyOf(m);
  const scope = `tencent#${APP_ID}`;
  const [a, b] = m.from <= m.to ? [m.from, m.to] : [m.to, m.from];
  const conversation = `c2c:${encodeURIComponent(a)}:${encodeURIComponent(b)}`;
  const timeKey = `${sentAt}#${id}`;
  const pk = `M#${id}`;
  const version = {
    version: 1,
    content: fixtureContent,
    contentHash,
    source: "callback",
    actor: m.from,
    at: sentAt,
    pk,
    sk: "V#0000000001",
  };
  const head = {
    id,
    provider: "tencent",
    appId: APP_ID,
    kind: "c2c",
    key: {
      from: m.from,
      to: m.to,
      msgKey,
      msgSeq: String(m.seq),
      msgRandom: String(m.random),
      msgTime: String(m.time),
      msgId: fixtureMsgId,
    },
    conversation,
    sender: m.from,
    lookupKey: `c2c|${msgKey}`,
    state: "sent",
    version: 1,
    createdAt: sentAt,
    updatedAt: new Date().toISOString(),
    rev: 1,
    content: fixtureContent,
    contentHash,
    keyPk: `${scope}#c2c|${msgKey}`,
    keySk: id,
    convPk: `${scope}#${conversation}`,
    convSk: timeKey,
    senderPk: `${scope}#${m.from}`,
    senderSk: timeKey,
    appPk: `${scope}#${id.charCodeAt(id.length - 1) % 16}`,
    appSk: timeKey,
    pk,
    sk: "H",
  };
  return { version, head };
}

/** Reads back one handler-written and one raw-written message and compares attribute names. */
async function compareShapes(
  client: ReturnType<typeof createDocumentClient>,
  handlerId: string,
  rawId: string,
): Promise<{ equal: boolean; differences: string[] }> {
  const differences: string[] = [];
  for (const sk of ["H", "V#0000000001"]) {
    const read = async (id: string) =>
      (await client.send(new GetCommand({ TableName: TABLE_NAME, Key: { pk: `M#${id}`, sk } }))).Item;
    const [fromHandler, fromRaw] = await Promise.all([read(handlerId), read(rawId)]);
    if (!fromHandler || !fromRaw) {
      differences.push(`item ${sk} missing (handler: ${!!fromHandler}, raw: ${!!fromRaw})`);
      continue;
    }
    const handlerNames = attributeNames(fromHandler);
    const rawNames = attributeNames(fromRaw);
    const onlyHandler = handlerNames.filter((name) => !rawNames.includes(name));
    const onlyRaw = rawNames.filter((name) => !handlerNames.includes(name));
    if (onlyHandler.length > 0 || onlyRaw.length > 0) {
      differences.push(
        `item ${sk}: only handler [${onlyHandler.join(", ")}], only raw [${onlyRaw.join(", ")}]`,
      );
    }
  }
  return { equal: differences.length === 0, differences };
}

function attributeNames(item: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(item).flatMap(([name, value]) =>
    value !== null && typeof value === "object" && !Array.isArray(value) && name !== "content"
      ? attributeNames(value as Record<string, unknown>, `${prefix}${name}.`)
      : [`${prefix}${name}`],
  );
}
