import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { AFTER_SEND_COMMAND, APP_ID, afterSendBody, randomUint32 } from "./callbacks.ts";
import type { Deployment } from "./cost-deployments.ts";
import type { Measured, Sample } from "./cost-model.ts";
import type { BenchmarkResult } from "./report.ts";

/**
 * `npm run bench -- cost`: the cost per million recorded messages of the deployment the stack
 * synthesizes by default, and of its documented options, from the template (memory, architecture,
 * ingress, billing, tracing, log format and levels, indexes) and from figures measured here: the real
 * recorder handler, in a child process with the function's environment from the template, records
 * Tencent after-sends on DynamoDB Local (write and read units reported by DynamoDB itself, calls, CPU
 * time, every byte the function writes to stdout and stderr). Prints a markdown block for the README.
 */
const CALLBACKS = 400;
const WARMUP = 200;
const TOKEN = "cost-bench-callback-token";
const TABLE_NAME = "im-edit-cost";
const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = "--measure-recorder";

export async function costPerMillion(): Promise<BenchmarkResult> {
  // aws-cdk-lib loads here only, not in the measuring child.
  const { synthesize } = await import("./cost-deployments.ts");
  const { formatCost } = await import("./cost-report.ts");
  const deployments = synthesize();
  const [base] = deployments;
  if (!base) throw new Error("no deployment synthesized");
  const { STORE_TARGETS } = await import("../test/helpers/dynamo.ts");
  const target = STORE_TARGETS.find((t) => t.name === "DynamoDB Local") ?? STORE_TARGETS[0];
  if (!target) throw new Error("no DynamoDB target");
  const store = await target.start();
  // One measurement per recorder LISTINGS (the default's, then each listings option's).
  const byListings = new Map<string, Measured>();
  try {
    const { ensureTable } = await import("../local/dynamo.ts");
    await ensureTable(store.endpoint, TABLE_NAME);
    const measured: Measured = { ...(await measureInChild(base, store.endpoint)), store: target.name };
    byListings.set(listingsOf(base), measured);
    for (const deployment of deployments) {
      if (byListings.has(listingsOf(deployment))) continue;
      const writes = await measureInChild(deployment, store.endpoint);
      byListings.set(listingsOf(deployment), withWritesOf(measured, writes));
    }
  } finally {
    await store.close();
  }
  const measurements = deployments.map((deployment) => byListings.get(listingsOf(deployment)) as Measured);
  const { markdown, rows, notes } = formatCost(deployments, measurements);
  // The README's cost section is this block, pasted as printed (each note line after the first is unindented).
  return {
    title: "cost per million recorded messages (template + measured)",
    rows,
    notes: [...notes, `README cost section (markdown):\n\n${markdown}\n`],
  };
}

const listingsOf = (deployment: Deployment): string => deployment.recorderEnvironment.LISTINGS ?? "";

/**
 * A listings option changes what the recorder writes, not what it computes: its write and read units and
 * its head item are measured with its LISTINGS; CPU, calls and log lines stay the default's (a difference
 * there would be noise, not the option).
 */
function withWritesOf(base: Measured, option: Omit<Measured, "store">): Measured {
  return {
    ...base,
    samples: base.samples.map((sample, i) => ({
      ...sample,
      wru: option.samples[i]?.wru ?? sample.wru,
      rru: option.samples[i]?.rru ?? sample.rru,
    })),
    item: option.item,
  };
}

/** Runs this file as a child with the recorder's environment (as the template sets it) and reads its figures. */
async function measureInChild(deployment: Deployment, endpoint: string): Promise<Omit<Measured, "store">> {
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-cost-"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    ...deployment.recorderEnvironment,
    // What Lambda sets in every function's environment (advanced logging controls add the last two).
    AWS_REGION: "us-east-1",
    AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Recorder",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(deployment.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    ...(deployment.logFormat === "JSON" ? { AWS_LAMBDA_LOG_FORMAT: "JSON" } : {}),
    ...(deployment.applicationLogLevel ? { AWS_LAMBDA_LOG_LEVEL: deployment.applicationLogLevel } : {}),
    // Local stand-ins for what the stack binds (the table, the token's secret, the fallback queue).
    TABLE_NAME,
    DYNAMODB_ENDPOINT: endpoint,
    TENCENT_SDKAPPID: APP_ID,
    TENCENT_CALLBACK_TOKEN: TOKEN,
    DATA_DIR: dataDir,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_EC2_METADATA_DISABLED: "true",
    COST_TRACING: deployment.tracing,
  };
  try {
    const output = await new Promise<string>((resolve, reject) => {
      // COST_CPU_PROFILE=<dir> writes the child's CPU profile there (where does a callback's CPU go?).
      const profile = process.env.COST_CPU_PROFILE
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.COST_CPU_PROFILE}`]
        : [];
      const child = spawn(process.execPath, [...profile, "--import", "tsx", SELF, CHILD_FLAG], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const timer = setTimeout(() => child.kill(), 120_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`cost measurement exited with ${code}: ${stderr.slice(-2000)}`));
      });
    });
    const last = output.trim().split("\n").at(-1) ?? "";
    return JSON.parse(last) as Omit<Measured, "store">;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The child: the real handler on function-URL events, everything it writes captured per invocation. */
async function measureRecorder(): Promise<void> {
  const { createDocumentClient } = await import("../functions/adapters/dynamodb/client.ts");
  const { storedBytes, itemSize, writeUnits } = await import("../functions/adapters/dynamodb/size.ts");
  const { DynamoStore } = await import("../functions/adapters/dynamodb/store.ts");
  const { messagePk, HEAD_SK } = await import("../functions/adapters/dynamodb/table.ts");
  const { createDependencies } = await import("../functions/clients.ts");
  const { setDependencies } = await import("../functions/wiring/cold-start.ts");
  const { loadConfig } = await import("../functions/config.ts");
  const { c2cId } = await import("../functions/providers/tencent/identity.ts");
  const { tencentSign } = await import("../functions/providers/tencent/verify.ts");
  const { handler } = await import("../functions/recorder.ts");
  const { GetCommand } = await import("@aws-sdk/lib-dynamodb");
  type ConsumedCapacity = import("@aws-sdk/client-dynamodb").ConsumedCapacity;

  const config = loadConfig(process.env);
  let capacity = { wru: 0, rru: 0, calls: 0, reported: 0 };
  const documents = createDocumentClient({
    region: config.region,
    ...(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {}),
    maxAttempts: 2,
    requestTimeoutMs: Math.ceil(config.callbackStoreBudgetMs / 2),
  });
  // Each call, by kind (DynamoDB Local reports CapacityUnits without saying read or write).
  documents.middlewareStack.add(
    (next, context) => async (args) => {
      capacity.calls++;
      const output = await next(args);
      const reads = /^(Get|BatchGet|Query|Scan)/.test(context.commandName ?? "");
      const consumed = (output.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
        .ConsumedCapacity;
      for (const c of [consumed ?? []].flat()) capacity[reads ? "rru" : "wru"] += c.CapacityUnits ?? 0;
      return output;
    },
    { step: "initialize", name: "costBenchCapacity" },
  );
  // The adapter's capacity observer asks DynamoDB for the units of every call, indexes included; the
  // heads carry the keys of the function's LISTINGS, as createDependencies's store writes them.
  const store = new DynamoStore(documents, config.tableName, {
    listings: config.listings,
    onCapacity: () => {
      capacity.reported++;
    },
  });
  setDependencies(createDependencies(config, { store }));

  const run = randomBytes(4).toString("hex");
  const time = Math.floor(Date.now() / 1000);
  const random = randomUint32();
  const message = (seq: number) => ({ from: "jared", to: `cost-${run}`, seq, random, time });
  const sampled = process.env.COST_TRACING === "Active" ? 1 : 0;

  // Everything the function writes goes to CloudWatch Logs: capture both streams, by invocation.
  let written: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const capture = (chunk: unknown): boolean => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;

  const samples: Sample[] = [];
  let sampleLines: string[] = [];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < WARMUP + CALLBACKS; i++) {
    const event = functionUrlEvent(afterSendBody(message(i + 1)), tencentSign);
    process.env._X_AMZN_TRACE_ID = `Root=1-${time.toString(16)}-${randomBytes(12).toString("hex")};Parent=${randomBytes(8).toString("hex")};Sampled=${sampled}`;
    written = [];
    capacity = { wru: 0, rru: 0, calls: 0, reported: 0 };
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = (await handler(event, lambdaContext())) as { statusCode?: number };
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (i < WARMUP) continue;
    const lines = written
      .join("")
      .split("\n")
      .filter((line) => line !== "");
    statuses[String(result.statusCode)] = (statuses[String(result.statusCode)] ?? 0) + 1;
    if (sampleLines.length === 0) sampleLines = lines;
    samples.push({
      cpuMs: (used.user + used.system) / 1000,
      userMs: used.user / 1000,
      wallMs,
      calls: capacity.calls,
      wru: capacity.wru,
      rru: capacity.rru,
      logBytes: lines.reduce((sum, line) => sum + Buffer.byteLength(line, "utf8"), 0),
      logEvents: lines.length,
    });
  }

  const m = message(WARMUP + 1);
  const id = c2cId(APP_ID, m.from, m.to, `${m.seq}_${m.random}_${m.time}`);
  const head = (
    await documents.send(
      new GetCommand({ TableName: config.tableName, Key: { pk: messagePk(id), sk: HEAD_SK } }),
    )
  ).Item;
  documents.destroy();
  const item = head ?? {};
  const result = {
    samples,
    statuses,
    sampleLines,
    item: { bytes: itemSize(item), stored: storedBytes(item), wruBySize: writeUnits(item) },
    node: process.version,
    arch: process.arch,
  };
  realOut(`${JSON.stringify(result)}\n`);
}

function functionUrlEvent(
  body: string,
  sign: (token: string, time: string) => string,
): APIGatewayProxyEventV2 {
  const now = Date.now();
  const requestTime = String(Math.floor(now / 1000));
  const query = {
    SdkAppid: APP_ID,
    CallbackCommand: AFTER_SEND_COMMAND,
    contenttype: "json",
    ClientIP: "203.0.113.7",
    OptPlatform: "RESTAPI",
    RequestTime: requestTime,
    Sign: sign(TOKEN, requestTime),
  };
  const domain = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/callbacks/tencent",
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { host: domain, "content-type": "application/json", "x-forwarded-proto": "https" },
    queryStringParameters: query,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghijklmnopqrstuvwxyz012345",
      domainName: domain,
      domainPrefix: "abcdefghijklmnopqrstuvwxyz012345",
      http: {
        method: "POST",
        path: "/callbacks/tencent",
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "Tencent",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

function lambdaContext() {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? "recorder";
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? "256",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

if (process.argv[1] === SELF && process.argv[2] === CHILD_FLAG) await measureRecorder();
