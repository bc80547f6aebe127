import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

/**
 * Builds the operator console: `src/main.tsx` bundled by esbuild (minified ES modules, the Cognito
 * sign-in split into its own chunk, loaded only in AWS mode) beside `index.html` and `console.css`.
 * No inline script or style anywhere, so the page runs under `script-src 'self'; style-src 'self'`.
 * `npm start` builds it in memory at start, the CDK stack into a folder at synth, and
 * `npm run bench -- console` measures it.
 */
export const CONSOLE_DIR = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = join(CONSOLE_DIR, "dist");
const STATIC_FILES = ["index.html", "console.css"] as const;

/** The console's files by name (`index.html`, `main.js`, `chunk-….js`, `console.css`). */
export type ConsoleFiles = ReadonlyMap<string, Uint8Array>;

export interface ConsoleBuild {
  /** Every file written, relative to the output directory, sorted. */
  readonly files: readonly string[];
  /** All JavaScript, minified, in bytes. */
  readonly jsBytes: number;
  /** All JavaScript gzipped (level 9), in bytes: what the 60 KB budget counts. */
  readonly jsGzipBytes: number;
}

export interface ConsoleBundle {
  readonly files: ConsoleFiles;
  /** esbuild's account of what went into each output (the bench lists the biggest inputs). */
  readonly metafile: Metafile;
}

/** The console in memory: nothing on disk, so concurrent local servers never share a folder. */
export async function bundleConsole(): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: [join(CONSOLE_DIR, "src", "main.tsx")],
    outdir: DEFAULT_OUT_DIR,
    write: false,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    legalComments: "none",
    jsx: "automatic",
    jsxImportSource: "preact",
    chunkNames: "chunk-[hash]",
    metafile: true,
    logLevel: "silent",
    // The console's own tsconfig (DOM, JSX) rather than the repository's (Node).
    tsconfig: join(CONSOLE_DIR, "tsconfig.json"),
  });
  const files = new Map<string, Uint8Array>();
  for (const output of result.outputFiles) files.set(relative(DEFAULT_OUT_DIR, output.path), output.contents);
  for (const file of STATIC_FILES) files.set(file, await readFile(join(CONSOLE_DIR, file)));
  return { files, metafile: result.metafile };
}

/** Gzipped and plain bytes of the console's JavaScript. */
export function measure(files: ConsoleFiles): Omit<ConsoleBuild, "files"> {
  let jsBytes = 0;
  let jsGzipBytes = 0;
  for (const [name, content] of files) {
    if (!name.endsWith(".js")) continue;
    jsBytes += content.length;
    jsGzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { jsBytes, jsGzipBytes };
}

/** Builds the console into `outDir` (emptied first), e.g. for the CDK stack's bucket. */
export async function buildConsole(outDir: string = DEFAULT_OUT_DIR): Promise<ConsoleBuild> {
  const { files } = await bundleConsole();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  for (const [name, content] of files) await writeFile(join(outDir, name), content);
  return { files: [...files.keys()].sort(), ...measure(files) };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildConsole(process.argv[2]);
  process.stdout.write(
    `console built: ${built.files.join(", ")} (${(built.jsGzipBytes / 1024).toFixed(1)} KB of gzipped JavaScript)\n`,
  );
}
