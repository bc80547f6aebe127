import { readFileSync, rmSync, statSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildBundles, FAKE_FUNCTION_ENV, importInFreshProcess } from "../../infra/bundles.ts";
import { ESM_REQUIRE_BANNER } from "../../infra/constructs/bundling.ts";

describe("function bundles (local esbuild, the house bundling options)", () => {
  // Prepare: the one test that bundles; every other infra test skips bundling.
  const { outdir, files } = buildBundles({
    recorder: "functions/recorder.ts",
    editor: "functions/editor.ts",
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it.each(["recorder", "editor"] as const)(
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

  it("runs in the Node the functions target", () => {
    expect(process.versions.node.split(".")[0]).toBe("24");
  });
});
