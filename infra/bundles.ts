import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { BUNDLE_FILE } from "./constructs/bundling.ts";
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
