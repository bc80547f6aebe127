import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { ServiceFunction } from "../infra/constructs/service-function.ts";
import { propsFromContext } from "../infra/context.ts";
import { ImEditStack } from "../infra/stacks/im-edit-stack.ts";
import type { Row } from "./report.ts";

/**
 * The cost model of `npm run bench -- cost`: the deployments it synthesizes, what it reads from their
 * templates, list prices, the assumptions it cannot measure, and the markdown it prints.
 */

/** us-east-1 list prices, no free tiers. */
export const PRICES = {
  lambdaRequestsPerM: 0.2,
  lambdaGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 } as Record<string, number>,
  httpApiPerM: 1.0,
  wruPerM: 0.625,
  rruPerM: 0.125,
  wcuHour: 0.00065,
  rcuHour: 0.00013,
  logsPerGb: 0.5,
  xrayTracesPerM: 5.0,
  sqsPerM: 0.4,
  /** EventBridge custom events published (PutEvents), per million 64 KB chunks. */
  eventBridgePerM: 1.0,
  storageGbMonth: 0.25,
  pitrGbMonth: 0.2,
} as const;

/** What this benchmark cannot measure on loopback, stated as assumptions. */
export const ASSUMPTIONS = {
  /** Round trip of one DynamoDB call from Lambda in the same region. */
  dynamoCallMs: 6,
  /** Round trip of one SQS SendMessage or EventBridge PutEvents (the events options). */
  sqsCallMs: 10,
  /**
   * Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB: the table counts the CPU time
   * measured here as is (this machine's core for one Lambda vCPU); a sensitivity row stretches it by
   * 1,769 / memory, as if every CPU-bound millisecond ran on the function's share of a vCPU.
   */
  vcpuAtMb: 1769,
  /** CloudWatch Logs counts each event's text plus 26 bytes. */
  logEventOverheadBytes: 26,
  /** X-Ray's default rule: the first request each second, then 5 %: about 5 % at sustained traffic. */
  xraySampledShare: 0.05,
  /**
   * The callback relay: forwards in one forwarder batch. At light traffic SQS hands the forwarder one at a
   * time (the dearest case, priced here); a full batch of 10 divides its receive, delete and invocation by 10.
   */
  forwardsPerBatch: 1,
  /** The relay: how long the app's own handler takes to answer a forward (the forwarder waits for it). */
  appAnswerMs: 50,
} as const;

/** The app's own callback handler the relay option forwards to (`-c tencentForwardUrl`; nothing is sent). */
const EXAMPLE_FORWARD_URL = "https://app.example.com/im/callback";

const GB = 2 ** 30;

/** The values `npm run synth` passes (clearly fake; nothing is deployed). */
const EXAMPLE_CONTEXT: Record<string, string> = {
  sdkAppId: "1400000000",
  callbackTokenSecretArn:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/example/tencent-callback-token-EXAMPL",
  secretKeySecretArn:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/example/tencent-secret-key-EXAMPL",
  // The operator console costs nothing per message (README, Operator console in AWS), and its build is
  // not this synth's business.
  console: "off",
};

/** The default deployment first, then each documented option alone. */
export const OPTIONS: ReadonlyArray<{ readonly context: Record<string, string>; readonly what: string }> = [
  { context: {}, what: "default" },
  { context: { callbackIngress: "httpApi" }, what: "callbacks through the HTTP API" },
  { context: { tracing: "active" }, what: "X-Ray active tracing" },
  { context: { events: "sqs" }, what: "domain events to SQS: one SendMessage per message" },
  {
    context: { events: "eventbridge" },
    what: "domain events to EventBridge: one PutEvents entry per message",
  },
  { context: { billing: "provisioned" }, what: "provisioned capacity with auto scaling" },
  {
    context: { tencentForwardUrl: EXAMPLE_FORWARD_URL },
    what: "callback relay: each callback's forward through the forward queue to the app's own handler",
  },
];

export interface Deployment {
  readonly context: Record<string, string>;
  readonly what: string;
  readonly memoryMb: number;
  readonly architecture: string;
  readonly ingress: "functionUrl" | "httpApi";
  readonly tracing: string;
  readonly logFormat: string;
  readonly applicationLogLevel?: string;
  readonly systemLogLevel?: string;
  readonly billing: string;
  readonly writeTargetPercent?: number;
  readonly readTargetPercent?: number;
  readonly indexes: readonly string[];
  readonly pitr: boolean;
  /** Where the recorder publishes domain events, if anywhere. */
  readonly events?: "sqs" | "eventbridge";
  /** The callback relay, with a forward URL: the forwarder the recorder's forwards go to through SQS. */
  readonly relay?: {
    readonly memoryMb: number;
    readonly architecture: string;
    /** Its event source's batch size: at most this many forwards per invocation. */
    readonly batchSize: number;
  };
  /** The recorder's environment variables that are plain strings in the template (not references). */
  readonly recorderEnvironment: Record<string, string>;
}

export interface Sample {
  /** CPU time in process (user + system) and the user part alone. */
  readonly cpuMs: number;
  readonly userMs: number;
  readonly wallMs: number;
  readonly calls: number;
  readonly wru: number;
  readonly rru: number;
  readonly logBytes: number;
  readonly logEvents: number;
}

export interface Measured {
  readonly store: string;
  readonly samples: readonly Sample[];
  readonly statuses: Record<string, number>;
  readonly sampleLines: readonly string[];
  readonly item: { readonly bytes: number; readonly stored: number; readonly wruBySize: number };
  readonly node: string;
  readonly arch: string;
}

/** Synthesizes every option in-process (bundling skipped, no network) and reads its template. */
export function synthesize(): Deployment[] {
  return OPTIONS.map(({ context, what }) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const parsed = propsFromContext((key) => ({ ...EXAMPLE_CONTEXT, ...context })[key]);
    if (!parsed.ok) throw new Error(parsed.message);
    const stack = new ImEditStack(app, parsed.stackName, parsed.props);
    return { context, what, ...readTemplate(stack, Template.fromStack(stack)) };
  });
}

type Resource = { Properties?: Record<string, unknown> };
const get = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>(
    (at, key) => (at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined),
    value,
  );

function readTemplate(stack: ImEditStack, template: Template): Omit<Deployment, "context" | "what"> {
  const functionOf = (fn: ServiceFunction) => {
    const id = Stack.of(stack).getLogicalId(fn.function.node.defaultChild as CfnFunction);
    return {
      id,
      properties: (template.findResources("AWS::Lambda::Function")[id] as Resource).Properties ?? {},
    };
  };
  const { id: recorderId, properties: recorder } = functionOf(stack.recorder);
  const urls = Object.values(template.findResources("AWS::Lambda::Url") as Record<string, Resource>).filter(
    (url) => JSON.stringify(url.Properties?.TargetFunctionArn).includes(recorderId),
  );
  const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route") as Record<string, Resource>)
    .map((route) => String(route.Properties?.RouteKey))
    .filter((key) => key.startsWith("POST /callbacks/"));
  if (urls.length > 0 === routes.length > 0) throw new Error("cannot tell the callback ingress");
  const tables = Object.values(
    template.findResources("AWS::DynamoDB::GlobalTable") as Record<string, Resource>,
  );
  const table = tables[0]?.Properties ?? {};
  const indexes = ((table.GlobalSecondaryIndexes ?? []) as unknown[]).map((index) => {
    const attributes = (get(index, "Projection", "NonKeyAttributes") as string[] | undefined) ?? [];
    return `${get(index, "IndexName")} (${get(index, "Projection", "ProjectionType")}${attributes.length > 0 ? ` ${attributes.join(", ")}` : ""})`;
  });
  const variables = (get(recorder, "Environment", "Variables") ?? {}) as Record<string, unknown>;
  const target = (path: string) => {
    const value = get(table, ...path.split("."), "TargetTrackingScalingPolicyConfiguration", "TargetValue");
    return typeof value === "number" ? value : undefined;
  };
  const writeTarget = target("WriteProvisionedThroughputSettings.WriteCapacityAutoScalingSettings");
  const readTarget = target("Replicas.0.ReadProvisionedThroughputSettings.ReadCapacityAutoScalingSettings");
  const logging = (recorder.LoggingConfig ?? {}) as Record<string, string | undefined>;
  return {
    memoryMb: Number(recorder.MemorySize ?? 128),
    architecture: String(get(recorder, "Architectures", 0) ?? "x86_64"),
    ingress: urls.length > 0 ? "functionUrl" : "httpApi",
    tracing: String(get(recorder, "TracingConfig", "Mode") ?? "PassThrough"),
    logFormat: logging.LogFormat ?? "Text",
    ...(logging.ApplicationLogLevel ? { applicationLogLevel: logging.ApplicationLogLevel } : {}),
    ...(logging.SystemLogLevel ? { systemLogLevel: logging.SystemLogLevel } : {}),
    billing: String(table.BillingMode ?? "PROVISIONED"),
    ...(writeTarget !== undefined ? { writeTargetPercent: writeTarget } : {}),
    ...(readTarget !== undefined ? { readTargetPercent: readTarget } : {}),
    indexes,
    pitr:
      get(table, "Replicas", 0, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") === true,
    ...(stack.relay ? { relay: readForwarder(template, functionOf(stack.relay.forwarder)) } : {}),
    ...("EVENTS_QUEUE_URL" in variables
      ? { events: "sqs" as const }
      : "EVENT_BUS_NAME" in variables
        ? { events: "eventbridge" as const }
        : {}),
    recorderEnvironment: Object.fromEntries(
      Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    ),
  };
}

/** The forwarder's memory and architecture, and the batch size of the event source that invokes it. */
function readForwarder(
  template: Template,
  forwarder: { readonly id: string; readonly properties: Record<string, unknown> },
): NonNullable<Deployment["relay"]> {
  const mappings = Object.values(
    template.findResources("AWS::Lambda::EventSourceMapping") as Record<string, Resource>,
  ).filter((mapping) => JSON.stringify(mapping.Properties?.FunctionName).includes(forwarder.id));
  const batchSize = get(mappings[0]?.Properties, "BatchSize");
  if (mappings.length !== 1 || typeof batchSize !== "number")
    throw new Error("cannot tell the forwarder's batch");
  return {
    memoryMb: Number(forwarder.properties.MemorySize ?? 128),
    architecture: String(get(forwarder.properties, "Architectures", 0) ?? "x86_64"),
    batchSize,
  };
}

/**
 * Lambda's own lines per invocation when its system log level lets them through (INFO, the default):
 * START, END and REPORT in text, platform.start and platform.report in JSON (typical sizes).
 */
export function platformLines(deployment: Deployment): string[] {
  if (["WARN", "ERROR", "FATAL"].includes(deployment.systemLogLevel ?? "INFO")) return [];
  const id = "0f2b8a3c-5d6e-4f70-8192-a3b4c5d6e7f8";
  const traced = deployment.tracing === "Active";
  if (deployment.logFormat === "JSON") {
    const time = '"time":"2026-01-01T00:00:00.000Z"';
    const tracing = traced
      ? ',"tracing":{"spanId":"0a1b2c3d4e5f6a7b","type":"X-Amzn-Trace-Id","value":"Root=1-6a000000-0123456789abcdef01234567;Parent=0a1b2c3d4e5f6a7b;Sampled=1"}'
      : "";
    return [
      `{${time},"type":"platform.start","record":{"requestId":"${id}","version":"$LATEST"${tracing}}}`,
      `{${time},"type":"platform.report","record":{"requestId":"${id}","metrics":{"durationMs":21.62,"billedDurationMs":22,"memorySizeMB":${deployment.memoryMb},"maxMemoryUsedMB":96},"status":"success"${tracing}}}`,
    ];
  }
  const xray = traced
    ? "XRAY TraceId: 1-6a000000-0123456789abcdef01234567\tSegmentId: 0a1b2c3d4e5f6a7b\tSampled: true\t"
    : "";
  return [
    `START RequestId: ${id} Version: $LATEST`,
    `END RequestId: ${id}`,
    `REPORT RequestId: ${id}\tDuration: 21.62 ms\tBilled Duration: 22 ms\tMemory Size: ${deployment.memoryMb} MB\tMax Memory Used: 96 MB\t${xray}`,
  ];
}

interface Line {
  readonly item: string;
  readonly basis: string;
  readonly cost: number;
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
const usd = (value: number): string => `$${value.toFixed(2)}`;
/** A list price as quoted: $0.625, $0.00065, $1.00. */
const price = (value: number): string =>
  `$${String(value).length < value.toFixed(2).length ? value.toFixed(2) : value}`;
const fixed = (value: number, digits = 2): string => value.toFixed(digits);
const group = (value: number): string => Math.round(value).toLocaleString("en-US");

/** The recorder's calls besides DynamoDB: publishing an event, enqueueing a forward (one SQS send). */
function otherCalls(d: Deployment): string[] {
  return [
    ...(d.events === "sqs" ? ["1 SQS send"] : d.events === "eventbridge" ? ["1 PutEvents"] : []),
    ...(d.relay ? ["1 SQS send (forward)"] : []),
  ];
}

/** Billed ms per invocation: CPU (stretched to the function's vCPU share when asked) plus the calls' waits. */
function billedMs(d: Deployment, m: Measured, stretchCpu: boolean): number {
  const scale = stretchCpu ? Math.max(1, ASSUMPTIONS.vcpuAtMb / d.memoryMb) : 1;
  const waits = (s: Sample) =>
    s.calls * ASSUMPTIONS.dynamoCallMs + otherCalls(d).length * ASSUMPTIONS.sqsCallMs;
  return mean(m.samples.map((s) => Math.ceil(s.cpuMs * scale + waits(s))));
}

/** Application lines as measured, plus Lambda's own when its system log level lets them through. */
function logBytesPerCallback(d: Deployment, m: Measured): { bytes: number; events: number } {
  const platform = platformLines(d);
  const overhead = ASSUMPTIONS.logEventOverheadBytes;
  return {
    bytes:
      mean(m.samples.map((s) => s.logBytes + s.logEvents * overhead)) +
      platform.reduce((sum, line) => sum + Buffer.byteLength(line) + overhead, 0),
    events: mean(m.samples.map((s) => s.logEvents)) + platform.length,
  };
}

/** Per million recorded messages: every item, for one deployment. */
export function costLines(d: Deployment, m: Measured, stretchCpu = false): Line[] {
  const wru = mean(m.samples.map((s) => s.wru));
  const rru = mean(m.samples.map((s) => s.rru));
  const ms = billedMs(d, m, stretchCpu);
  const gb = d.memoryMb / 1024;
  const gbSeconds = gb * (ms / 1000) * 1e6;
  const gbSecondPrice = PRICES.lambdaGbSecond[d.architecture] ?? PRICES.lambdaGbSecond.x86_64 ?? 0;
  const logs = logBytesPerCallback(d, m);
  const logGb = (logs.bytes * 1e6) / GB;
  const provisioned = d.billing === "PROVISIONED";
  const perMillion = (hourPrice: number, percent: number | undefined) =>
    (hourPrice / (3600 * ((percent ?? 70) / 100))) * 1e6;
  const capacity = (units: number, unit: "WRU" | "RRU") => {
    const percent = unit === "WRU" ? d.writeTargetPercent : d.readTargetPercent;
    const hourly = unit === "WRU" ? PRICES.wcuHour : PRICES.rcuHour;
    const onDemand = unit === "WRU" ? PRICES.wruPerM : PRICES.rruPerM;
    const each = provisioned ? perMillion(hourly, percent) : onDemand;
    return {
      basis: provisioned
        ? `${fixed(units)} ${unit} at ${percent ?? 70} % utilization: ${price(hourly)}/${unit === "WRU" ? "WCU" : "RCU"}-hour = ${usd(each)}/M`
        : `${fixed(units)} ${unit} × ${price(onDemand)}/M (on-demand)`,
      cost: units * each,
    };
  };
  const traced = d.tracing === "Active";
  const calls = mean(m.samples.map((s) => s.calls));
  const logging = `${d.logFormat}, application ${d.applicationLogLevel ?? "INFO"}, system ${d.systemLogLevel ?? "INFO"}`;
  return [
    {
      item: "Callback ingress",
      basis:
        d.ingress === "functionUrl"
          ? "Lambda function URL: no request charge"
          : `HTTP API: 1 M × ${price(PRICES.httpApiPerM)}/M`,
      cost: d.ingress === "functionUrl" ? 0 : PRICES.httpApiPerM,
    },
    {
      item: "Lambda requests",
      basis: `1 M × ${price(PRICES.lambdaRequestsPerM)}/M`,
      cost: PRICES.lambdaRequestsPerM,
    },
    {
      item: "Lambda duration",
      basis:
        `${fixed(ms, 1)} ms billed (CPU${stretchCpu ? ` × ${fixed(ASSUMPTIONS.vcpuAtMb / d.memoryMb, 1)}` : ""} + ${fixed(calls)} DynamoDB call${otherCalls(
          d,
        )
          .map((call) => ` + ${call}`)
          .join("")} waiting) × ${gb} GB ` +
        `(${d.memoryMb} MB ${d.architecture}) = ${group(gbSeconds)} GB-s × ${price(gbSecondPrice)}`,
      cost: gbSeconds * gbSecondPrice,
    },
    { item: "DynamoDB writes", ...capacity(wru, "WRU") },
    { item: "DynamoDB reads", ...capacity(rru, "RRU") },
    {
      item: "CloudWatch Logs",
      basis: `${group(logs.bytes)} B in ${fixed(logs.events, 1)} event${logs.events === 1 ? "" : "s"} (${logging}) = ${fixed(logGb, 3)} GB × ${price(PRICES.logsPerGb)}/GB`,
      cost: logGb * PRICES.logsPerGb,
    },
    {
      item: "X-Ray",
      basis: traced
        ? `active: ~${ASSUMPTIONS.xraySampledShare * 100} % of invocations traced at sustained traffic × ${price(PRICES.xrayTracesPerM)}/M (every one below ~1 a second: ${usd(PRICES.xrayTracesPerM)})`
        : "off (PassThrough): no traces",
      cost: traced ? ASSUMPTIONS.xraySampledShare * PRICES.xrayTracesPerM : 0,
    },
    ...(d.events === "sqs"
      ? [{ item: "SQS (events)", basis: `1 SendMessage × ${price(PRICES.sqsPerM)}/M`, cost: PRICES.sqsPerM }]
      : []),
    ...(d.events === "eventbridge"
      ? [
          {
            item: "EventBridge (events)",
            basis: `1 PutEvents entry × ${price(PRICES.eventBridgePerM)}/M`,
            cost: PRICES.eventBridgePerM,
          },
        ]
      : []),
    ...(d.relay ? relayLines(d.relay, m, stretchCpu) : []),
  ];
}

/** SQS requests and forwarder invocations per forward: a batch shares one receive, one delete, one invocation. */
export function forwardRequests(): { readonly requests: number; readonly invocations: number } {
  const invocations = 1 / ASSUMPTIONS.forwardsPerBatch;
  return { requests: 1 + 2 * invocations, invocations };
}

/**
 * Per million forwarded callbacks (the recorder's SQS send is in its duration line): the forward queue's
 * requests and the forwarder's invocations, each batch of `forwardsPerBatch` sharing one receive, one
 * delete and one invocation. The forwarder's CPU is not measured here: the recorder's per callback stands in.
 */
function relayLines(relay: NonNullable<Deployment["relay"]>, m: Measured, stretchCpu: boolean): Line[] {
  const batched = ASSUMPTIONS.forwardsPerBatch;
  const { requests, invocations } = forwardRequests();
  const scale = stretchCpu ? Math.max(1, ASSUMPTIONS.vcpuAtMb / relay.memoryMb) : 1;
  // One invocation bills its whole batch, rounded up to the millisecond.
  const ms =
    mean(m.samples.map((s) => Math.ceil(batched * (s.cpuMs * scale + ASSUMPTIONS.appAnswerMs)))) / batched;
  const gb = relay.memoryMb / 1024;
  const gbSeconds = gb * (ms / 1000) * 1e6;
  const gbSecondPrice = PRICES.lambdaGbSecond[relay.architecture] ?? PRICES.lambdaGbSecond.x86_64 ?? 0;
  const batch = `${batched} forward a batch, up to ${relay.batchSize}`;
  return [
    {
      item: "SQS (forward queue)",
      basis: `${fixed(requests)} requests a forward (1 SendMessage; 1 ReceiveMessage and 1 DeleteMessageBatch per batch; ${batch}) × ${price(PRICES.sqsPerM)}/M`,
      cost: requests * PRICES.sqsPerM,
    },
    {
      item: "Forwarder requests",
      basis: `${fixed(invocations)} invocation a forward (${batch}) × ${price(PRICES.lambdaRequestsPerM)}/M`,
      cost: invocations * PRICES.lambdaRequestsPerM,
    },
    {
      item: "Forwarder duration",
      basis:
        `${fixed(ms, 1)} ms billed per forward (the recorder's CPU + the app's answer, ${ASSUMPTIONS.appAnswerMs} ms) × ${gb} GB ` +
        `(${relay.memoryMb} MB ${relay.architecture}) = ${group(gbSeconds)} GB-s × ${price(gbSecondPrice)}`,
      cost: gbSeconds * gbSecondPrice,
    },
  ];
}

/** What the relay option assumes, and what it leaves out. */
function relayNote(relay: Deployment["relay"]): string[] {
  if (!relay) return [];
  const { requests, invocations } = forwardRequests();
  const full = relay.batchSize;
  const short = (value: number) => String(Number(value.toFixed(1)));
  return [
    `The relay row assumes light traffic, ${ASSUMPTIONS.forwardsPerBatch} forward per forwarder batch (${short(requests)} SQS requests and ${short(invocations)} invocation a`,
    `forward; full batches of ${full} make that ${short(1 + 2 / full)} and ${short(1 / full)}), and an app handler that answers in ${ASSUMPTIONS.appAnswerMs} ms. A before-send`,
    "is forwarded by the recorder itself, without SQS, and waits for the app's answer in the recorder's duration.",
    "",
  ];
}

const total = (lines: readonly Line[]): number => lines.reduce((sum, line) => sum + line.cost, 0);
export const GOAL_PER_MILLION = 2.25;

const flags = (context: Record<string, string>): string =>
  Object.entries(context)
    .map(([key, value]) => `-c ${key}=${value}`)
    .join(" ");

/** What an option changes against the default, line by line. */
function changes(base: readonly Line[], option: readonly Line[]): string {
  return option
    .filter((line) => {
      const before = base.find((b) => b.item === line.item);
      return !before || before.basis !== line.basis;
    })
    .map((line) => `${line.item}: ${line.basis}`)
    .join("; ");
}

export function formatCost(
  deployments: readonly Deployment[],
  m: Measured,
): { markdown: string; rows: Row[]; notes: string[] } {
  const [base, ...options] = deployments;
  if (!base) throw new Error("no default deployment");
  const lines = costLines(base, m);
  const baseTotal = total(lines);
  const stretched = total(costLines(base, m, true));
  const verdict = (value: number) => (value <= GOAL_PER_MILLION ? "PASS" : "FAIL");
  const avg = (pick: (s: Sample) => number) => mean(m.samples.map(pick));
  const storedGb = (m.item.stored * 1e6) / GB;
  const stretch = fixed(ASSUMPTIONS.vcpuAtMb / base.memoryMb, 1);
  const md: string[] = [
    "**Cost per million recorded messages**, as `npm run bench -- cost` prints it (us-east-1 list prices, no",
    "free tiers, GB = 2^30 bytes; one callback per message: after-send only, and before-send callbacks too",
    "would double the Lambda and log lines). It synthesizes the stack with the default context and reads the",
    `template: recorder ${base.memoryMb} MB ${base.architecture}, callbacks on the ${base.ingress === "functionUrl" ? "function URL" : "HTTP API"}, tracing ${base.tracing}, logs ${base.logFormat} at`,
    `${base.applicationLogLevel ?? "INFO"} with Lambda's own at ${base.systemLogLevel ?? "INFO"}, table ${base.billing} with ${base.indexes.join(" and ")}.`,
    `Measured: the real recorder handler on ${m.samples.length} Tencent C2C after-sends (after a warm-up) on ${m.store},`,
    `in a process with the function's environment from the template: ${fixed(avg((s) => s.wru))} WRU and ${fixed(avg((s) => s.rru))} RRU per`,
    `message as DynamoDB reports them, ${fixed(avg((s) => s.calls))} DynamoDB call, ${fixed(avg((s) => s.cpuMs))} ms of CPU (${m.arch}, node ${m.node}) and`,
    `${group(avg((s) => s.logBytes))} bytes written to stdout/stderr in ${fixed(
      avg((s) => s.logEvents),
      1,
    )} line per callback. Assumed, not measured: each DynamoDB`,
    `call waits ${ASSUMPTIONS.dynamoCallMs} ms in AWS (an SQS send ${ASSUMPTIONS.sqsCallMs} ms); CloudWatch counts ${ASSUMPTIONS.logEventOverheadBytes} bytes per log event besides its text.`,
    "",
    "| item | basis | per million |",
    "| --- | --- | ---: |",
    ...lines.map((line) => `| ${line.item} | ${line.basis} | ${usd(line.cost)} |`),
    `| **total** | goal ≤ ${usd(GOAL_PER_MILLION)}: **${verdict(baseTotal)}** | **${usd(baseTotal)}** |`,
    "",
    `The CPU time above counts as is. Lambda gives ${base.memoryMb} MB about 1/${stretch} of a vCPU; if every CPU-bound`,
    `millisecond took ${stretch}× as long there, the duration line becomes ${usd(costLines(base, m, true).find((l) => l.item === "Lambda duration")?.cost ?? 0)} and the total ${usd(stretched)} (${verdict(stretched)}).`,
    "",
    "Documented options, each synthesized with its context value alone and costed the same way:",
    "",
    "| option | what changes | per million | vs default |",
    "| --- | --- | ---: | ---: |",
    ...options.map((option) => {
      const optionLines = costLines(option, m);
      const delta = total(optionLines) - baseTotal;
      return `| \`${flags(option.context)}\` | ${option.what}. ${changes(lines, optionLines)} | ${usd(total(optionLines))} | ${delta < 0 ? "−" : "+"}${usd(Math.abs(delta))} |`;
    }),
    "",
    "Provisioned capacity also pays its minimum when idle and throttles beyond its maximum (see Table",
    "billing); X-Ray's default rule traces the first request each second, so below about one message a",
    "second nearly every callback is traced (the first 100,000 traces a month are free).",
    "",
    ...relayNote(options.find((option) => option.relay)?.relay),
    `Kept messages also cost storage: ${group(m.item.stored)} bytes each as DynamoDB counts them (the head item, which holds version`,
    `1 until the first edit, ${group(m.item.bytes)} bytes, plus its entries in the ${base.indexes.length} indexes, with 100 bytes of overhead per item and`,
    `entry; ${m.item.wruBySize} WRU by DynamoDB's size rules), so ${fixed(storedGb)} GB per million: ${usd(storedGb * PRICES.storageGbMonth)} a month at ${price(PRICES.storageGbMonth)}/GB-month${base.pitr ? "," : "."}`,
    ...(base.pitr
      ? [
          `plus ${usd(storedGb * PRICES.pitrGbMonth)} for point-in-time recovery (${price(PRICES.pitrGbMonth)}/GB-month). Edits, the fallback queue and the`,
        ]
      : ["Edits, the fallback queue and the"]),
    "dead-letter queues add only when used. Check the current prices of your region.",
  ];
  const rows: Row[] = [
    {
      metric: "total per million (default deployment)",
      value: baseTotal,
      unit: "USD",
      goal: { op: "<=", limit: GOAL_PER_MILLION },
    },
    { metric: `  with CPU time × ${stretch} (vCPU share)`, value: stretched, unit: "USD" },
    ...options.map((option) => ({
      metric: `total with ${flags(option.context)}`,
      value: total(costLines(option, m)),
      unit: "USD",
    })),
    ...(options.some((option) => option.relay)
      ? [
          { metric: "relay: SQS requests per forwarded callback", value: forwardRequests().requests },
          {
            metric: "relay: forwarder invocations per forwarded callback",
            value: forwardRequests().invocations,
          },
        ]
      : []),
    { metric: "WRU per recorded message", value: avg((s) => s.wru) },
    { metric: "RRU per recorded message", value: avg((s) => s.rru) },
    { metric: "DynamoDB calls per callback", value: avg((s) => s.calls) },
    { metric: "recorder CPU per callback (in process)", value: avg((s) => s.cpuMs), unit: "ms", digits: 3 },
    { metric: "  of which user time", value: avg((s) => s.userMs), unit: "ms", digits: 3 },
    { metric: "recorder wall time per callback (local)", value: avg((s) => s.wallMs), unit: "ms", digits: 3 },
    { metric: "log bytes per callback (application)", value: avg((s) => s.logBytes), unit: "B", digits: 0 },
    { metric: "log lines per callback (application)", value: avg((s) => s.logEvents), digits: 1 },
    { metric: "Lambda platform lines per callback", value: platformLines(base).length, digits: 0 },
    {
      metric: "stored bytes per message (index copies included)",
      value: m.item.stored,
      unit: "B",
      digits: 0,
    },
    {
      metric: "statuses",
      value: Object.entries(m.statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(", "),
    },
  ];
  const notes = [`sample log line: ${m.sampleLines.join(" | ") || "(none)"}`];
  return { markdown: md.join("\n"), rows, notes };
}
