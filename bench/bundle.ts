import { existsSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type BundleComposition,
  buildBundles,
  bundleComposition,
  FAKE_FUNCTION_ENV,
  importInFreshProcess,
} from "../infra/bundles.ts";
import { LAZY_PACKAGES } from "../infra/constructs/bundling.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { summarize } from "./stats.ts";

/**
 * Benchmark: each function's deployed bundle (built exactly as `cdk deploy` builds it: ServiceFunction,
 * local esbuild, house options) against an empty handler holding the same DynamoDB clients, bundled the
 * same way in the same run. Size is the minified `index.mjs`; cold import is the time from `import()` to
 * the module being evaluated in a fresh Node 24 process with the function's environment, which is the part
 * of a Lambda cold start the bundle controls. The three are imported in rotating order, so drift hits all.
 * Each bundle's biggest inputs (packages, and folders of im-edit's own code) come from esbuild's metafile.
 */
export interface BundleBenchOptions {
  readonly rounds: number;
}

const DEFAULTS: BundleBenchOptions = { rounds: 15 };
const GOAL_RATIO = 1.5;
/** Inputs listed per bundle, biggest first. */
const TOP_INPUTS = 8;
const ENTRIES = {
  empty: "test/infra/fixtures/empty-handler.ts",
  recorder: "functions/recorder.ts",
  editor: "functions/editor.ts",
} as const;
type Name = keyof typeof ENTRIES;
const NAMES = Object.keys(ENTRIES) as Name[];

export async function bundleCost(options: BundleBenchOptions = DEFAULTS): Promise<BenchmarkResult> {
  const { outdir, files } = buildBundles(ENTRIES);
  try {
    const compositions = {} as Record<Name, BundleComposition>;
    for (const name of NAMES) compositions[name] = await bundleComposition(ENTRIES[name]);
    const bytes = Object.fromEntries(NAMES.map((name) => [name, statSync(files[name]).size])) as Record<
      Name,
      number
    >;
    const samples: Record<Name, number[]> = { empty: [], recorder: [], editor: [] };
    // A bundle that does not load is reported as such (its size still is), not a crash of the whole run.
    const failures = new Map<Name, string>();
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < NAMES.length; i++) {
        const name = NAMES[(round + i) % NAMES.length] as Name;
        if (failures.has(name)) continue;
        try {
          samples[name].push((await importInFreshProcess(files[name], FAKE_FUNCTION_ENV)).importMs);
        } catch (error: unknown) {
          failures.set(name, firstErrorLine(error));
        }
      }
    }
    const emptyFailure = failures.get("empty");
    if (emptyFailure !== undefined)
      throw new Error(`the empty handler's bundle does not load: ${emptyFailure}`);
    const p50 = (name: Name) => summarize(samples[name]).p50;
    const rows: Row[] = [
      { metric: "empty handler + DynamoDB clients: bundle", value: bytes.empty, unit: "bytes", digits: 0 },
      { metric: "empty handler: cold import p50", value: p50("empty"), unit: "ms" },
    ];
    for (const name of ["recorder", "editor"] as const) {
      const failure = failures.get(name);
      rows.push(
        { metric: `${name}: bundle`, value: bytes[name], unit: "bytes", digits: 0 },
        // Informative: issue 14's goal is the cold import below (what the size costs a cold start); the
        // bundles carry the providers' schemas and clients an empty handler has not.
        { metric: `${name}: bundle / empty`, value: bytes[name] / bytes.empty, unit: "x" },
      );
      if (failure !== undefined) {
        rows.push({
          metric: `${name}: cold import / empty (p50)`,
          value: `does not load: ${failure}`,
          goal: { op: "<=", limit: GOAL_RATIO },
        });
        continue;
      }
      rows.push(
        { metric: `${name}: cold import p50`, value: p50(name), unit: "ms" },
        { metric: `${name}: cold import p90`, value: summarize(samples[name]).p90, unit: "ms" },
        {
          metric: `${name}: cold import / empty (p50)`,
          value: p50(name) / p50("empty"),
          unit: "x",
          goal: { op: "<=", limit: GOAL_RATIO },
        },
      );
    }
    // Shipped beside index.mjs and loaded by the first call out (bundling.ts LAZY_PACKAGES): not imported cold.
    for (const name of NAMES) {
      for (const pkg of LAZY_PACKAGES) {
        const file = join(dirname(files[name]), "node_modules", pkg, "index.js");
        if (existsSync(file)) {
          rows.push({
            metric: `${name}: beside the bundle, on first use <- ${pkg}`,
            value: statSync(file).size,
            unit: "bytes",
            digits: 0,
          });
        }
      }
    }
    const drift: string[] = [];
    for (const name of NAMES) {
      const { bytes: analysed, inputs } = compositions[name];
      if (analysed !== bytes[name]) drift.push(`${name} (${analysed} analysed, ${bytes[name]} deployed)`);
      for (const input of inputs.slice(0, TOP_INPUTS)) {
        rows.push({ metric: `${name} <- ${input.name}`, value: input.bytes, unit: "bytes", digits: 0 });
      }
    }
    return {
      title: `function bundles vs an empty handler with the same SDK clients (${options.rounds} fresh processes each)`,
      rows,
      notes: [
        `inputs: the ${TOP_INPUTS} biggest per bundle, bytes in the minified output, from esbuild's metafile of the same build` +
          (drift.length > 0 ? `; WARNING, not the deployed build: ${drift.join(", ")}` : ""),
        "bundles: minified ESM by the local esbuild with the house options (infra/constructs/bundling.ts), AWS SDK included; " +
          "packages loaded only on demand (LAZY_PACKAGES) ship beside index.mjs and are not part of the cold import",
        `cold import: performance.now() around import() in a fresh Node ${process.versions.node} process, NODE_OPTIONS=--enable-source-maps as deployed`,
      ],
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function firstErrorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").find((line) => line.startsWith("Error")) ?? text.split("\n")[0] ?? text;
}
