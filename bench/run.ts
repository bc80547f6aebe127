/**
 * `npm run bench`: runs each benchmark in turn and prints its figures, then one summary table of the
 * goals. Goals are reported as PASS/FAIL but never change the exit code; a benchmark that crashes
 * does (exit 1). `npm run bench -- <name>` runs only the benchmarks whose name contains <name>.
 *
 * Measured on what `npm start` runs: the handlers log at the DEFAULT level (POWERTOOLS_LOG_LEVEL is
 * left as the environment has it; unset, that is INFO), their lines written to a file (log-sink.ts),
 * the report to stdout. A benchmark that adds a lighter variant (silenced logs, in-memory store) says so.
 */
import { availableParallelism, loadavg } from "node:os";
import type { Benchmark, BenchmarkResult } from "./report.ts";

// Set before any project module is loaded (the AWS SDK and the metrics read them), hence the dynamic
// imports below: static imports would be evaluated before these lines. Type-only imports are erased.
// The same two `npm start` sets (local/start.ts).
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.AWS_EC2_METADATA_DISABLED = "true";

const { openLogSink } = await import("./log-sink.ts");
const { formatResult, formatSummary } = await import("./report.ts");

// In the order of issue 14's goal table; the summary table follows it.
const benchmarks: Benchmark[] = [
  { name: "dynamodb-capacity", run: async () => (await import("./capacity.ts")).dynamoCapacity() },
  { name: "cost", run: async () => (await import("./cost.ts")).costPerMillion() },
  { name: "edit-overhead", run: async () => (await import("./edit-overhead.ts")).editOverhead() },
  { name: "edit-rate", run: async () => (await import("./edit-rate.ts")).editRate() },
  { name: "server-load", run: async () => (await import("./load.ts")).serverLoad() },
  { name: "bundle", run: async () => (await import("./bundle.ts")).bundleCost() },
  { name: "overload", run: async () => (await import("./overload.ts")).overload() },
  { name: "recorder-overhead", run: async () => (await import("./recorder.ts")).recorderOverhead() },
  // Issue 15: a bulk job at the provider's full rate.
  { name: "rules", run: async () => (await import("./rules.ts")).rulesCost() },
  { name: "bulk", run: async () => (await import("./bulk.ts")).bulkEdit() },
  { name: "limiter", run: async () => (await import("./limiter.ts")).limiterBench() },
  // Issue 16: the callback relay's before-send overhead and its asynchronous forwards.
  { name: "relay", run: async () => (await import("./relay.ts")).relayOverhead() },
  // Issue 17: the operator console's JavaScript against its 60 KB budget.
  { name: "console", run: async () => (await import("./console.ts")).consoleBundle() },
];

const filter = process.argv[2];
const selected = benchmarks.filter((benchmark) => filter === undefined || benchmark.name.includes(filter));
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark matches "${filter}" (have: ${benchmarks.map((b) => b.name).join(", ")})\n`,
  );
  process.exitCode = 2;
}

const load = (averages: number[]) => averages.map((n) => n.toFixed(2)).join(" / ");
const startLoad = loadavg();
const logs = openLogSink();
const out = logs.report;
const started = performance.now();
out(`im-edit benchmarks: node ${process.version} on ${process.platform}/${process.arch}\n`);
out(
  `handlers log at ${process.env.POWERTOOLS_LOG_LEVEL ? `POWERTOOLS_LOG_LEVEL=${process.env.POWERTOOLS_LOG_LEVEL}` : "the default level (INFO)"}, lines written synchronously to ${logs.path}\n\n`,
);
const results: Array<{ name: string; result: BenchmarkResult }> = [];
const crashed: string[] = [];
for (const benchmark of selected) {
  const benchmarkStarted = performance.now();
  const logBytes = logs.bytes;
  const logLines = logs.lines;
  try {
    const result = await benchmark.run();
    results.push({ name: benchmark.name, result });
    out(formatResult(benchmark.name, result));
  } catch (error: unknown) {
    process.exitCode = 1;
    crashed.push(benchmark.name);
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    out(`== ${benchmark.name}: CRASHED\n${reason}\n`);
  }
  out(
    `  (${((performance.now() - benchmarkStarted) / 1000).toFixed(1)} s; handlers logged ${logs.lines - logLines} lines, ${((logs.bytes - logBytes) / 1024).toFixed(0)} KiB)\n\n`,
  );
}
if (results.length + crashed.length > 0) out(formatSummary(results, crashed));
out(
  `\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s; load average at the start ${load(startLoad)}, at the end ${load(loadavg())} (${availableParallelism()} CPUs: other work on the machine skews the latency figures)\n`,
);
logs.close();

// Everything should be closed now and the process exit by itself; if a handle leaks, say which and exit.
setTimeout(() => {
  process.stderr.write(
    `bench: still running 5 s after the last benchmark; open: ${process.getActiveResourcesInfo().join(", ")}\n`,
  );
  process.exit(process.exitCode ?? 1);
}, 5_000).unref();
