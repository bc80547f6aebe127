import type { RelayBenchOptions } from "./relay.ts";
import { ANSWERS, type AnswerKind, type App, type Checks } from "./relay-app.ts";
import type { Way } from "./relay-callbacks.ts";
import type { ForwardsResult } from "./relay-forwards.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import type { Summary } from "./stats.ts";

/** The relay's overhead over the app's own answer, before-send, p99 (issue 16). */
const GOAL_OVERHEAD_P99_MS = 5;

/** One answer variant's sequential pairs: each way's latency, and relayed − direct of the same message. */
export interface PairedTimes {
  readonly direct: Summary;
  readonly relayed: Summary;
  readonly paired: Summary;
}

/** What the relay benchmark measured, for its rows and notes. */
export interface RelayFigures {
  readonly options: RelayBenchOptions;
  readonly allow: PairedTimes;
  readonly rewrite: PairedTimes;
  /** The concurrent blocks: latency by way, and requests per second by way. */
  readonly parallel: Readonly<Record<Way, Summary>>;
  readonly rate: (way: Way) => number;
  readonly checks: Checks;
  readonly app: App;
  readonly forwarded: ForwardsResult;
  readonly spooled: number;
}

/** The relay benchmark's result: its rows (the goals on the before-send overhead) and notes. */
export function relayResult({
  options,
  allow,
  rewrite,
  parallel,
  rate,
  checks,
  app,
  forwarded,
  spooled,
}: RelayFigures): BenchmarkResult {
  const fmt = (ms: number) => ms.toFixed(3);
  const pair = (s: Summary) => `${fmt(s.p50)} / ${fmt(s.p99)} ms`;
  const sequentialRows = (name: AnswerKind, r: PairedTimes): Row[] => [
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
}
