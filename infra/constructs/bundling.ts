import { join } from "node:path";
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
 * Packages the functions load only on demand: undici on the first call out to a provider and the
 * EventBridge SDK for the first publish to a bus (a dynamic `import()`), re2js on the first pattern
 * compiled (a synchronous `require` through `createRequire`: compiling is synchronous). They stay out of
 * `index.mjs`, whose whole text Node compiles at every cold start (undici alone was 740 KB of it and a
 * quarter of the editor's cold import, `npm run bench -- bundle`); a function whose bundle loads one gets
 * it bundled on its own, minified with its map, as `node_modules/<name>/index.js` beside `index.mjs`,
 * where Node resolves the bare name. It is CommonJS, so an `import()` reads its exports from `default`
 * (the package's `module.exports`), which the installed package (tests, the local stack) has too when it
 * is CommonJS; a `require` gets `module.exports` itself.
 */
export const LAZY_PACKAGES: readonly string[] = ["undici", "re2js", "@aws-sdk/client-eventbridge"];

/**
 * Packages the functions never load in AWS, left out of the bundle and not shipped: `yaml`, which only
 * reads a YAML rules file locally (the stack converts one to JSON at synth, rules-bundle.ts).
 */
export const LOCAL_ONLY_PACKAGES: readonly string[] = ["yaml"];

/**
 * Whether a bundle's text loads `name` on demand: `import("name")`, `require("name")` or a `createRequire`'d
 * require (minified to `<id>(import.meta.url)("name")` or `<id>("name")`); each ends in `("name")`, which a
 * static import (`from"name"`) never does.
 */
export const loadsOnDemand = (bundle: string, name: string): boolean => bundle.includes(`("${name}")`);

/** The shell commands that write each lazy package `<outputDir>/index.mjs` loads into that directory. */
export function lazyPackageCommands(outputDir: string): string[] {
  const esbuild = join(PROJECT_ROOT, "node_modules", ".bin", "esbuild");
  return LAZY_PACKAGES.map((name) => {
    const dir = join(outputDir, "node_modules", name);
    const build = [
      esbuild,
      name,
      "--bundle",
      "--platform=node",
      "--format=cjs",
      `--target=${HOUSE_TARGET}`,
      // As the bundle does (HOUSE_BUNDLING.mainFields): the AWS SDK's ESM build is a quarter smaller.
      "--main-fields=module,main",
      "--minify",
      "--sourcemap",
      "--sources-content=false",
      "--log-level=warning",
      `--outfile=${join(dir, "index.js")}`,
    ].map(shellQuote);
    const manifest = shellQuote(JSON.stringify({ name, main: "index.js" }));
    // The same test as loadsOnDemand.
    return (
      `if grep -qF ${shellQuote(`("${name}")`)} ${shellQuote(join(outputDir, BUNDLE_FILE))}; then ` +
      `${build.join(" ")} && printf '%s' ${manifest} > ${shellQuote(join(dir, "package.json"))}; fi`
    );
  });
}

const shellQuote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

const HOUSE_TARGET = "node24";

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
  target: HOUSE_TARGET,
  // Prefer packages' ESM builds: they tree-shake (the AWS SDK and smithy ship both).
  mainFields: ["module", "main"],
  minify: true,
  sourceMap: true,
  // Stack traces need file:line only; embedding the sources would roughly double the map for nothing.
  sourcesContent: false,
  bundleAwsSDK: true,
  externalModules: [...LAZY_PACKAGES, ...LOCAL_ONLY_PACKAGES],
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) => lazyPackageCommands(outputDir),
  },
  banner: ESM_REQUIRE_BANNER,
  esbuildArgs: {
    // tls-sig-api-v2's package.json names "main" twice; Node reads the last (TLSSigAPIv2.js), esbuild the
    // first (TLSSigAPI.js, which does not exist). Point esbuild at the file Node loads.
    "--alias": ["tls-sig-api-v2=tls-sig-api-v2/TLSSigAPIv2.js"],
  },
};

/** The bundle's file name inside the asset directory (NodejsFunction names ESM output `index.mjs`). */
export const BUNDLE_FILE = "index.mjs";

/** A file shipped beside the bundle: `source` (a path on this machine) copied as `name` into the asset. */
export interface BundledFile {
  readonly source: string;
  /** A plain file name (no directory), found at `/var/task/<name>` in Lambda. */
  readonly name: string;
}

/** `bundling` whose afterBundling step also copies `files` into the asset (so they count in its hash). */
export function withBundledFiles(
  bundling: Readonly<BundlingOptions>,
  files: readonly BundledFile[],
): BundlingOptions {
  if (files.length === 0) return bundling;
  const hooks = bundling.commandHooks;
  return {
    ...bundling,
    commandHooks: {
      beforeBundling: (inputDir, outputDir) => hooks?.beforeBundling(inputDir, outputDir) ?? [],
      beforeInstall: (inputDir, outputDir) => hooks?.beforeInstall(inputDir, outputDir) ?? [],
      afterBundling: (inputDir, outputDir) => [
        ...(hooks?.afterBundling(inputDir, outputDir) ?? []),
        ...files.map((file) => `cp ${shellQuote(file.source)} ${shellQuote(join(outputDir, file.name))}`),
      ],
    },
  };
}
