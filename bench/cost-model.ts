import type { Deployment } from "./cost-deployments.ts";

/**
 * The cost model of `npm run bench -- cost`: list prices, the assumptions it cannot measure, and each
 * deployment's cost per million recorded messages, line by line, from the figures measured.
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

export const GB = 2 ** 30;

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

export interface Line {
  readonly item: string;
  readonly basis: string;
  readonly cost: number;
}

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
export const usd = (value: number): string => `$${value.toFixed(2)}`;
/** A list price as quoted: $0.625, $0.00065, $1.00. */
export const price = (value: number): string =>
  `$${String(value).length < value.toFixed(2).length ? value.toFixed(2) : value}`;
export const fixed = (value: number, digits = 2): string => value.toFixed(digits);
export const group = (value: number): string => Math.round(value).toLocaleString("en-US");

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
