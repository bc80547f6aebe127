import { fileURLToPath } from "node:url";
import { type BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";

/** The repository root: NodejsFunction's project root and where the lock file lives, whatever the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Lets CommonJS dependencies bundled into an ESM output (tls-sig-api-v2 requires `zlib` and `crypto`)
 * call `require`, which ESM does not define.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * How every function is bundled: by the local esbuild (never Docker), one minified ESM file with a
 * source map. The single definition used by `ServiceFunction`, the bundle test and `npm run bench`,
 * so what is measured and tested is what is deployed.
 *
 * The AWS SDK is bundled too (`bundleAwsSDK`) rather than taken from the runtime: the version deployed is
 * the version tested, and a tree-shaken, minified client is usually quicker to load than the runtime's copy.
 */
export const HOUSE_BUNDLING: Readonly<BundlingOptions> = {
  format: OutputFormat.ESM,
  target: "node24",
  // Prefer packages' ESM builds: they tree-shake (the AWS SDK and smithy ship both).
  mainFields: ["module", "main"],
  minify: true,
  sourceMap: true,
  // Stack traces need file:line only; embedding the sources would roughly double the map for nothing.
  sourcesContent: false,
  bundleAwsSDK: true,
  banner: ESM_REQUIRE_BANNER,
  esbuildArgs: {
    // tls-sig-api-v2's package.json names "main" twice; Node reads the last (TLSSigAPIv2.js), esbuild the
    // first (TLSSigAPI.js, which does not exist). Point esbuild at the file Node loads.
    "--alias": ["tls-sig-api-v2=tls-sig-api-v2/TLSSigAPIv2.js"],
  },
};

/** The bundle's file name inside the asset directory (NodejsFunction names ESM output `index.mjs`). */
export const BUNDLE_FILE = "index.mjs";
