import { gzipSync } from "node:zlib";
import type { Metafile } from "esbuild";
import { bundleConsole, measure } from "../console/build.ts";
import type { BenchmarkResult, Row } from "./report.ts";

/**
 * Benchmark "console": the operator console's JavaScript as a browser downloads it, built exactly as
 * `npm start` and the CDK stack build it (console/build.ts: esbuild, minified ES modules). The goal is
 * the budget, 60 KB of gzipped JavaScript (all of it, the Cognito sign-in chunk included); also
 * what a local (token) sign-in loads, the style sheet, the build time, and the biggest inputs.
 */
const BUDGET_KB = 60;
const TOP_INPUTS = 6;
/** Only the Cognito sign-in chunk signs requests: what token mode never loads. */
const COGNITO_MARK = "AWS4-HMAC-SHA256";

const kb = (bytes: number) => bytes / 1024;
const gzip = (content: Uint8Array) => gzipSync(content, { level: 9 }).length;

export async function consoleBundle(): Promise<BenchmarkResult> {
  const started = performance.now();
  const { files, metafile } = await bundleConsole();
  const buildMs = performance.now() - started;
  const { jsBytes, jsGzipBytes } = measure(files);
  const cognitoOnly = [...files].filter(
    ([name, content]) => name.endsWith(".js") && Buffer.from(content).includes(COGNITO_MARK),
  );
  const cognitoGzip = cognitoOnly.reduce((sum, [, content]) => sum + gzip(content), 0);
  const css = files.get("console.css");
  const rows: Row[] = [
    {
      metric: "JavaScript, gzipped (all chunks)",
      value: kb(jsGzipBytes),
      unit: "KB",
      digits: 1,
      goal: { op: "<=", limit: BUDGET_KB },
      summary: "console: gzipped JavaScript",
    },
    { metric: "JavaScript, minified", value: kb(jsBytes), unit: "KB", digits: 1 },
    {
      metric: "loaded by a token sign-in, gzipped",
      value: kb(jsGzipBytes - cognitoGzip),
      unit: "KB",
      digits: 1,
    },
    { metric: "Cognito sign-in chunk, gzipped", value: kb(cognitoGzip), unit: "KB", digits: 1 },
    { metric: "console.css, gzipped", value: css ? kb(gzip(css)) : 0, unit: "KB", digits: 1 },
    { metric: "build (esbuild, in memory)", value: buildMs, unit: "ms", digits: 0 },
  ];
  return {
    title: `the operator console's bundle (${[...files.keys()].filter((name) => name.endsWith(".js")).length} scripts)`,
    rows,
    notes: [`biggest inputs (minified bytes in the output): ${biggestInputs(metafile).join(", ")}`],
  };
}

/** Bytes in the outputs by package (node_modules/<name>) or by the console's own folder. */
function biggestInputs(metafile: Metafile): string[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match?.[1] ?? (input.includes("console/src/ui/") ? "console/src/ui" : "console/src");
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_INPUTS)
    .map(([name, bytes]) => `${name} ${kb(bytes).toFixed(1)} KB`);
}
