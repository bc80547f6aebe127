import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { buildBundles, FAKE_FUNCTION_ENV, importInFreshProcess } from "../../infra/bundles.ts";
import {
  ESM_REQUIRE_BANNER,
  LAZY_PACKAGES,
  LOCAL_ONLY_PACKAGES,
  loadsOnDemand,
} from "../../infra/constructs/bundling.ts";

// Run with the bundle's directory as the working directory: `import("undici")` resolves from there as it
// does from index.mjs, then one request goes to a loopback server through a pool, as http-call.ts does.
const FIRST_CALL_OUT = `
import { createServer } from "node:http";
const server = createServer((request, response) => response.end("pong " + request.url));
await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
const { Pool } = (await import("undici")).default;
const pool = new Pool("http://127.0.0.1:" + server.address().port, { connections: 1, headersTimeout: 2000 });
const response = await pool.request({ method: "GET", path: "/ping" });
const body = await response.body.text();
await pool.close();
server.close();
process.stdout.write(JSON.stringify({ status: response.statusCode, body, from: import.meta.resolve("undici") }));
`;

// Likewise for the packages a bundle loads on a later first use: re2js by a synchronous require (the first
// pattern compiled, as patterns.ts does), the EventBridge SDK by import() (the first publish to a bus).
const FIRST_PATTERN_AND_PUBLISH = `
import { createRequire } from "node:module";
const { RE2JS } = createRequire(import.meta.url)("re2js");
const sdk = (await import("@aws-sdk/client-eventbridge")).default;
process.stdout.write(JSON.stringify({
  matches: RE2JS.compile("1[3-9]\\\\d{9}").test("call 13912345678"),
  command: new sdk.PutEventsCommand({ Entries: [] }).input,
  client: typeof sdk.EventBridgeClient,
  from: [import.meta.resolve("re2js"), import.meta.resolve("@aws-sdk/client-eventbridge")],
}));
`;

describe("function bundles (local esbuild, the house bundling options)", () => {
  // Prepare: the one test that bundles; every other infra test skips bundling.
  const { outdir, files } = buildBundles({
    recorder: "functions/recorder.ts",
    editor: "functions/editor.ts",
    // The callback relay's forward queue consumer: its own entry and bundle.
    forwarder: "functions/forwarder.ts",
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it.each(["recorder", "editor", "forwarder"] as const)(
    "%s: a minified ESM bundle that a fresh Node 24 process imports, exporting handler",
    async (name) => {
      // Act
      const loaded = await importInFreshProcess(files[name], FAKE_FUNCTION_ENV);

      // Assess
      expect(loaded.handler).toBe("function");
      expect(readFileSync(files[name], "utf8").startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(statSync(`${files[name]}.map`).size).toBeGreaterThan(0);
    },
  );

  it.each(["editor", "forwarder"] as const)(
    "%s: undici ships beside the bundle, not in it, and serves the first call out",
    async (name) => {
      // Arrange
      const dir = dirname(files[name]);

      // Act
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--input-type=module", "--eval", FIRST_CALL_OUT],
        { cwd: dir, env: { PATH: process.env.PATH ?? "", ...FAKE_FUNCTION_ENV }, timeout: 30_000 },
      );

      // Assess
      expect(JSON.parse(stdout)).toEqual({
        status: 200,
        body: "pong /ping",
        from: `file://${join(dir, "node_modules", "undici", "index.js")}`,
      });
      expect(readFileSync(files[name], "utf8")).toContain('import("undici")');
      expect(statSync(files[name]).size).toBeLessThan(1_000_000);
    },
  );

  // The forwarder builds the relay alone (wiring/relay.ts): it compiles no rule and publishes no event.
  it.each(["recorder", "editor"] as const)(
    "%s: re2js and the EventBridge SDK ship beside the bundle, not in it, and load from there",
    async (name) => {
      // Arrange
      const dir = dirname(files[name]);

      // Act
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--input-type=module", "--eval", FIRST_PATTERN_AND_PUBLISH],
        { cwd: dir, env: { PATH: process.env.PATH ?? "", ...FAKE_FUNCTION_ENV }, timeout: 30_000 },
      );

      // Assess
      expect(JSON.parse(stdout)).toEqual({
        matches: true,
        command: { Entries: [] },
        client: "function",
        from: ["re2js", "@aws-sdk/client-eventbridge"].map(
          (pkg) => `file://${join(dir, "node_modules", pkg, "index.js")}`,
        ),
      });
    },
  );

  it.each(["recorder", "editor", "forwarder"] as const)(
    "%s: no static import of a lazy package (its cold start never loads one; Lambda would not find it)",
    (name) => {
      const bundle = readFileSync(files[name], "utf8");
      for (const lazy of LAZY_PACKAGES) {
        expect(bundle).not.toMatch(new RegExp(`(?:from|import)\\s*["']${lazy}["']`));
        // Shipped beside the bundle exactly when the bundle loads it on demand (import() or require).
        expect(existsSync(join(dirname(files[name]), "node_modules", lazy))).toBe(
          loadsOnDemand(bundle, lazy),
        );
      }
      // The recorder and the editor load each of them on demand (both compile rules and publish events);
      // the forwarder only undici (its relay-only dependencies: no rules, no outbox).
      expect(LAZY_PACKAGES.filter((lazy) => loadsOnDemand(bundle, lazy))).toEqual(
        name === "forwarder" ? ["undici"] : LAZY_PACKAGES,
      );
    },
  );

  it.each(["recorder", "editor", "forwarder"] as const)(
    "%s: a local-only package (yaml) is neither in the bundle nor shipped beside it",
    (name) => {
      const bundle = readFileSync(files[name], "utf8");
      for (const local of LOCAL_ONLY_PACKAGES) {
        expect(bundle).not.toMatch(new RegExp(`(?:from|import)\\s*["']${local}["']`));
        expect(existsSync(join(dirname(files[name]), "node_modules", local))).toBe(false);
      }
      // yaml's own parser error class: its code would be here if it were bundled.
      expect(bundle).not.toContain("YAMLParseError");
    },
  );

  it("runs in the Node the functions target", () => {
    expect(process.versions.node.split(".")[0]).toBe("24");
  });
});
