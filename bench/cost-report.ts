import type { Deployment } from "./cost-deployments.ts";
import {
  ASSUMPTIONS,
  costLines,
  fixed,
  forwardRequests,
  GB,
  group,
  type Line,
  type Measured,
  mean,
  PRICES,
  platformLines,
  price,
  type Sample,
  usd,
} from "./cost-model.ts";
import type { Row } from "./report.ts";

/** What `npm run bench -- cost` prints: the README's markdown block, and the rows and notes of its result. */

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

/** A kept message's storage a month per million (and its point-in-time recovery, when on). */
function storage(d: Deployment, m: Measured): { gb: number; month: number; pitr?: number } {
  const gb = (m.item.stored * 1e6) / GB;
  return {
    gb,
    month: gb * PRICES.storageGbMonth,
    ...(d.pitr ? { pitr: gb * PRICES.pitrGbMonth } : {}),
  };
}

/** What an option changes in storage, when its head item (index copies included) differs from the default's. */
function storageChange(base: Measured, option: Deployment, m: Measured): string {
  if (m.item.stored === base.item.stored) return "";
  const { month, pitr } = storage(option, m);
  return (
    `; Storage: ${group(m.item.stored)} bytes a message kept (${option.indexes.length} index entr${option.indexes.length === 1 ? "y" : "ies"}, ` +
    `${m.item.wruBySize} WRU by size), ${usd(month)} a month per million${pitr !== undefined ? ` + ${usd(pitr)} PITR` : ""}`
  );
}

/** `measurements[i]` is what was measured for `deployments[i]` (the first: the default). */
export function formatCost(
  deployments: readonly Deployment[],
  measurements: readonly Measured[],
): { markdown: string; rows: Row[]; notes: string[] } {
  const [base, ...options] = deployments;
  const [m] = measurements;
  if (!base || !m) throw new Error("no default deployment");
  const measuredFor = (option: Deployment): Measured => measurements[deployments.indexOf(option)] ?? m;
  const lines = costLines(base, m);
  const baseTotal = total(lines);
  const stretched = total(costLines(base, m, true));
  const verdict = (value: number) => (value <= GOAL_PER_MILLION ? "PASS" : "FAIL");
  const avg = (pick: (s: Sample) => number) => mean(m.samples.map(pick));
  const kept = storage(base, m);
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
      const optionLines = costLines(option, measuredFor(option));
      const delta = total(optionLines) - baseTotal;
      return `| \`${flags(option.context)}\` | ${option.what}. ${changes(lines, optionLines)}${storageChange(m, option, measuredFor(option))} | ${usd(total(optionLines))} | ${delta < 0 ? "−" : "+"}${usd(Math.abs(delta))} |`;
    }),
    "",
    "Provisioned capacity also pays its minimum when idle and throttles beyond its maximum (see Table",
    "billing); X-Ray's default rule traces the first request each second, so below about one message a",
    "second nearly every callback is traced (the first 100,000 traces a month are free).",
    "",
    ...relayNote(options.find((option) => option.relay)?.relay),
    `Kept messages also cost storage: ${group(m.item.stored)} bytes each as DynamoDB counts them (the head item, which holds version`,
    `1 until the first edit, ${group(m.item.bytes)} bytes, plus its entries in the ${base.indexes.length} indexes, with 100 bytes of overhead per item and`,
    `entry; ${m.item.wruBySize} WRU by DynamoDB's size rules), so ${fixed(kept.gb)} GB per million: ${usd(kept.month)} a month at ${price(PRICES.storageGbMonth)}/GB-month${kept.pitr !== undefined ? "," : "."}`,
    ...(kept.pitr !== undefined
      ? [
          `plus ${usd(kept.pitr)} for point-in-time recovery (${price(PRICES.pitrGbMonth)}/GB-month). Edits, the fallback queue and the`,
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
      value: total(costLines(option, measuredFor(option))),
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
    // The options measured with their own recorder environment (listings): what they write and keep.
    ...options
      .filter((option) => measuredFor(option) !== m)
      .flatMap((option): Row[] => [
        {
          metric: `WRU per recorded message with ${flags(option.context)}`,
          value: mean(measuredFor(option).samples.map((s) => s.wru)),
        },
        {
          metric: `stored bytes per message with ${flags(option.context)}`,
          value: measuredFor(option).item.stored,
          unit: "B",
          digits: 0,
        },
      ]),
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
