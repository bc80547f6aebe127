/**
 * `npm run bench`: runs each benchmark in turn and prints its figures. Goals are reported as
 * PASS/FAIL but never change the exit code; a benchmark that crashes does (exit 1).
 * `npm run bench -- <name>` runs only the benchmarks whose name contains <name>.
 */
import type { Benchmark, BenchmarkResult } from "./report.ts";

// Set before any project module is loaded (the logger and the AWS SDK read them), hence the dynamic
// imports below: static imports would be evaluated before these lines. Type-only imports are erased.
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.AWS_EC2_METADATA_DISABLED = "true";

const { formatResult, formatSummary } = await import("./report.ts");

const benchmarks: Benchmark[] = [
  { name: "recorder-overhead", run: async () => (await import("./recorder.ts")).recorderOverhead() },
  { name: "server-load", run: async () => (await import("./load.ts")).serverLoad() },
  { name: "bundle", run: async () => (await import("./bundle.ts")).bundleCost() },
  { name: "edit-overhead", run: async () => (await import("./edit-overhead.ts")).editOverhead() },
  { name: "edit-rate", run: async () => (await import("./edit-rate.ts")).editRate() },
  { name: "overload", run: async () => (await import("./overload.ts")).overload() },
];

const filter = process.argv[2];
const selected = benchmarks.filter((benchmark) => filter === undefined || benchmark.name.includes(filter));
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark matches "${filter}" (have: ${benchmarks.map((b) => b.name).join(", ")})\n`,
  );
  process.exitCode = 2;
}

const started = performance.now();
process.stdout.write(
  `im-edit benchmarks: node ${process.version} on ${process.platform}/${process.arch}\n\n`,
);
const results: Array<{ name: string; result: BenchmarkResult }> = [];
for (const benchmark of selected) {
  const benchmarkStarted = performance.now();
  try {
    const result = await benchmark.run();
    results.push({ name: benchmark.name, result });
    process.stdout.write(formatResult(benchmark.name, result));
  } catch (error: unknown) {
    process.exitCode = 1;
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stdout.write(`== ${benchmark.name}: CRASHED\n${reason}\n`);
  }
  process.stdout.write(`  (${((performance.now() - benchmarkStarted) / 1000).toFixed(1)} s)\n\n`);
}
if (results.length > 0) process.stdout.write(formatSummary(results));
process.stdout.write(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

// Everything should be closed now and the process exit by itself; if a handle leaks, say which and exit.
setTimeout(() => {
  process.stderr.write(
    `bench: still running 5 s after the last benchmark; open: ${process.getActiveResourcesInfo().join(", ")}\n`,
  );
  process.exit(process.exitCode ?? 1);
}, 5_000).unref();
