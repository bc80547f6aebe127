import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { type BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { type BuildOptions, build } from "esbuild";
import { BUNDLE_FILE, HOUSE_BUNDLING, PROJECT_ROOT } from "./constructs/bundling.ts";
import { ServiceFunction } from "./constructs/service-function.ts";

/**
 * Not part of the CDK app: builds function bundles exactly as a deploy does (a `ServiceFunction`, so the
 * house bundling options and the local esbuild), for the bundle test and `npm run bench`.
 */
export function buildBundles<Name extends string>(
  entries: Readonly<Record<Name, string>>,
): { readonly outdir: string; readonly files: Readonly<Record<Name, string>> } {
  const outdir = mkdtempSync(join(tmpdir(), "im-edit-bundles-"));
  // Asset metadata names each function's bundle directory on its resource (as SAM reads it).
  const app = new App({ outdir, context: { "aws:cdk:enable-asset-metadata": true } });
  const stack = new Stack(app, "Bundles");
  const files = {} as Record<Name, string>;
  for (const name of Object.keys(entries) as Name[]) {
    const fn = new ServiceFunction(stack, name, { entry: entries[name] });
    const assetPath = (fn.function.node.defaultChild as CfnResource).getMetadata("aws:asset:path");
    if (typeof assetPath !== "string") throw new Error(`no bundle recorded for ${name}`);
    files[name] = join(outdir, assetPath, BUNDLE_FILE);
  }
  return { outdir, files };
}

/** One package (`node_modules/<name>`) or one folder of im-edit's own code, and its bytes in a bundle. */
export interface BundleInput {
  readonly name: string;
  readonly bytes: number;
}

export interface BundleComposition {
  /** The bundle's size as this build wrote it: equal to the deployed bundle's when the options agree. */
  readonly bytes: number;
  /** Biggest first. */
  readonly inputs: readonly BundleInput[];
}

/**
 * What a function's bundle is made of: esbuild's metafile for the same entry, built by the same esbuild
 * with `HOUSE_BUNDLING` translated option by option (NodejsFunction writes no metafile unless asked, and
 * asking would change the deployed asset). In memory only; the caller compares `bytes` with the deployed
 * bundle's size, so a drift between the two builds shows.
 */
export async function bundleComposition(entry: string): Promise<BundleComposition> {
  const result = await build({
    ...esbuildOptions(HOUSE_BUNDLING),
    entryPoints: [join(PROJECT_ROOT, entry)],
    absWorkingDir: PROJECT_ROOT,
    outfile: join(tmpdir(), "im-edit-composition", BUNDLE_FILE),
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild wrote no bundle for ${entry}`);
  const groups = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = inputGroup(path);
    groups.set(name, (groups.get(name) ?? 0) + input.bytesInOutput);
  }
  const inputs = [...groups]
    .map(([name, bytes]) => ({ name, bytes }))
    .filter((input) => input.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return { bytes: output.bytes, inputs };
}

/** `node_modules/@aws-sdk/client-sqs/dist-es/...` → `@aws-sdk/client-sqs`; `functions/core/x.ts` → `functions/core/`. */
function inputGroup(path: string): string {
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg?.[1] !== undefined) return pkg[1];
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(0, slash + 1);
}

/** The esbuild options NodejsFunction derives from the house bundling options (the keys it uses). */
function esbuildOptions(bundling: Readonly<BundlingOptions>): BuildOptions {
  const known = new Set([
    "format",
    "target",
    "mainFields",
    "minify",
    "sourceMap",
    "sourcesContent",
    "bundleAwsSDK",
    "externalModules",
    // They write files beside index.mjs (lazy packages), not index.mjs itself: nothing to translate.
    "commandHooks",
    "banner",
    "esbuildArgs",
  ]);
  const unknown = Object.keys(bundling).filter((key) => !known.has(key));
  const args = Object.keys(bundling.esbuildArgs ?? {}).filter((arg) => arg !== "--alias");
  if (unknown.length > 0 || args.length > 0 || bundling.bundleAwsSDK !== true) {
    throw new Error(
      `bundleComposition does not translate ${[...unknown, ...args].join(", ") || "bundleAwsSDK: false"}: teach it (infra/bundles.ts)`,
    );
  }
  const aliases = [bundling.esbuildArgs?.["--alias"] ?? []].flat().filter((a) => typeof a === "string");
  return {
    bundle: true,
    platform: "node",
    format: bundling.format === OutputFormat.ESM ? "esm" : "cjs",
    ...(bundling.target !== undefined ? { target: bundling.target } : {}),
    ...(bundling.mainFields !== undefined ? { mainFields: [...bundling.mainFields] } : {}),
    minify: bundling.minify === true,
    sourcemap: bundling.sourceMap === true,
    sourcesContent: bundling.sourcesContent !== false,
    ...(bundling.banner !== undefined ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.externalModules !== undefined ? { external: [...bundling.externalModules] } : {}),
    alias: Object.fromEntries(aliases.map((alias) => alias.split("=", 2) as [string, string])),
  };
}

export interface ImportResult {
  /** The module's export names. */
  readonly exports: readonly string[];
  /** `typeof` the `handler` export. */
  readonly handler: string;
  /** Time from `import()` to the module being evaluated, in the child. */
  readonly importMs: number;
}

// Runs in the child: an ES module import of the bundle, timed from inside, so process start-up is excluded.
const CHILD = `
const started = performance.now();
const mod = await import(process.argv[1]);
const importMs = performance.now() - started;
process.stdout.write(JSON.stringify({ exports: Object.keys(mod), handler: typeof mod.handler, importMs }));
`;

/**
 * Imports a bundle in a fresh Node process (this one's binary: Node 24 under npx), as a Lambda cold start
 * does, with only the environment given (plus PATH): nothing of this process's state can leak in.
 */
export function importInFreshProcess(
  file: string,
  env: Readonly<Record<string, string>>,
): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "--eval", CHILD, pathToFileURL(file).href],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`importing ${file} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as ImportResult);
      },
    );
  });
}

/** What a deployed function's environment looks like, with fake values: enough for the code to load. */
export const FAKE_FUNCTION_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: "--enable-source-maps",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
  POWERTOOLS_SERVICE_NAME: "im-edit",
  POWERTOOLS_METRICS_NAMESPACE: "ImEdit",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  TABLE_NAME: "im-edit-bundle-test",
  TENCENT_SDKAPPID: "1400000000",
  TENCENT_ADMIN_IDENTIFIER: "administrator",
  TENCENT_REGION: "cn",
  TENCENT_CALLBACK_TOKEN_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/test/tencent-callback-token-AbCdEf",
  TENCENT_SECRET_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/test/tencent-secret-key-AbCdEf",
  FALLBACK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/im-edit-fallback",
  EDIT_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/im-edit-edits",
};
