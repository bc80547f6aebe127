import { extname } from "node:path";
import type { ConsoleFiles } from "../console/build.ts";
import { consoleCsp } from "../console/csp.ts";
import type { HttpResult } from "../functions/http/respond.ts";

/**
 * The operator console on the local server: `/console/` (index.html), `/console/<asset>` and
 * `/console/config.json` (token mode, the API on the same origin). Built in memory on first use (esbuild,
 * well under a second) and kept for the process. Every answer carries the console's CSP.
 */
export const CONSOLE_PATH = "/console/";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
};

/** Security headers of every console answer (the same intent as CloudFront's response headers policy). */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": consoleCsp(),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-cache",
};

const LOCAL_CONFIG = JSON.stringify({ mode: "token", apiUrl: "" });

let built: Promise<ConsoleFiles> | undefined;

/** The console's files, built once per process (a failed build is tried again on the next request). */
export function consoleFiles(): Promise<ConsoleFiles> {
  // esbuild is loaded on first use only: a stack that never serves the console never pays for it.
  built ??= import("../console/build.ts")
    .then(async ({ bundleConsole }) => (await bundleConsole()).files)
    .catch((error: unknown) => {
      built = undefined;
      throw error;
    });
  return built;
}

/** Builds the console now (for `npm start`'s banner): its gzipped JavaScript in bytes. */
export async function prepareConsole(): Promise<{ jsGzipBytes: number }> {
  const files = await consoleFiles();
  const { measure } = await import("../console/build.ts");
  return measure(files);
}

/** Whether a path is the console's (the server asks before its API routes). */
export const isConsolePath = (pathname: string): boolean =>
  pathname === "/console" || pathname.startsWith(CONSOLE_PATH);

export async function consoleResponse(method: string, pathname: string): Promise<HttpResult> {
  if (pathname === "/console")
    return answer(308, "text/plain; charset=utf-8", "", { location: CONSOLE_PATH });
  if (method !== "GET" && method !== "HEAD") {
    return answer(405, "text/plain; charset=utf-8", "use GET\n", { allow: "GET, HEAD" });
  }
  const name = pathname.slice(CONSOLE_PATH.length) || "index.html";
  if (name === "config.json") return answer(200, TYPES[".json"] as string, LOCAL_CONFIG);
  let files: ConsoleFiles;
  try {
    files = await consoleFiles();
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return answer(500, "text/plain; charset=utf-8", `the console could not be built: ${reason}\n`);
  }
  const content = files.get(name);
  const type = TYPES[extname(name)];
  if (content === undefined || type === undefined)
    return answer(404, "text/plain; charset=utf-8", "not found\n");
  return answer(200, type, Buffer.from(content).toString("base64"), {}, true);
}

function answer(
  statusCode: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
  isBase64Encoded = false,
): HttpResult {
  return {
    statusCode,
    headers: { ...CONSOLE_HEADERS, "content-type": type, ...headers },
    body,
    isBase64Encoded,
  };
}
