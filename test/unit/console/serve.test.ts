import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConsole } from "../../../console/build.ts";
import { cognitoConnectSources, consoleCsp } from "../../../console/csp.ts";
import { consoleResponse, isConsolePath } from "../../../local/console.ts";

/** The 60 KB budget of the issue, in gzipped bytes of JavaScript. */
const BUDGET_BYTES = 60 * 1024;
const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const bodyOf = (result: { body?: string; isBase64Encoded?: boolean }) =>
  result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64").toString("utf8") : (result.body ?? "");

describe("the console on the local server", () => {
  it("serves index.html, its script and its style, each with the CSP and its type", async () => {
    // Act
    const index = await consoleResponse("GET", "/console/");
    const html = bodyOf(index);
    const script = /<script type="module" src="([^"]+)"><\/script>/.exec(html)?.[1] ?? "";
    const js = await consoleResponse("GET", `/console/${script}`);
    const css = await consoleResponse("GET", "/console/console.css");
    // Assess
    expect(index.statusCode).toBe(200);
    expect(index.headers?.["content-type"]).toBe("text/html; charset=utf-8");
    for (const result of [index, js, css]) {
      expect(result.headers?.["content-security-policy"]).toBe(POLICY);
      expect(result.headers?.["x-content-type-options"]).toBe("nosniff");
    }
    expect(js.statusCode).toBe(200);
    expect(js.headers?.["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(css.headers?.["content-type"]).toBe("text/css; charset=utf-8");
    // No inline script or style: every script has a src, no style attribute or element.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=|<style/i);
  });

  it("serves config.json in token mode with the API on the same origin", async () => {
    // Act
    const config = await consoleResponse("GET", "/console/config.json");
    // Assess
    expect(config.statusCode).toBe(200);
    expect(JSON.parse(bodyOf(config))).toEqual({ mode: "token", apiUrl: "" });
    expect(config.headers?.["content-security-policy"]).toBe(POLICY);
  });

  it("redirects /console to /console/, refuses writes, and knows no other file", async () => {
    // Act
    const bare = await consoleResponse("GET", "/console");
    const post = await consoleResponse("POST", "/console/");
    const missing = await consoleResponse("GET", "/console/../package.json");
    const map = await consoleResponse("GET", "/console/main.js.map");
    // Assess
    expect(bare.statusCode).toBe(308);
    expect(bare.headers?.location).toBe("/console/");
    expect(post.statusCode).toBe(405);
    expect(missing.statusCode).toBe(404);
    expect(map.statusCode).toBe(404);
    expect(missing.headers?.["content-security-policy"]).toBe(POLICY);
    expect(isConsolePath("/console/x")).toBe(true);
    expect(isConsolePath("/consoles")).toBe(false);
    expect(isConsolePath("/v1/messages")).toBe(false);
  });
});

describe("the console's build", () => {
  it("writes the page, its style and its scripts, within the 60 KB gzipped budget", async () => {
    // Prepare
    const outDir = await mkdtemp(join(tmpdir(), "im-edit-console-"));
    try {
      // Act
      const built = await buildConsole(outDir);
      // Assess
      expect(built.files).toEqual(expect.arrayContaining(["index.html", "console.css", "main.js"]));
      expect((await readdir(outDir)).sort()).toEqual([...built.files]);
      expect(built.jsGzipBytes).toBeGreaterThan(0);
      expect(built.jsGzipBytes).toBeLessThan(BUDGET_BYTES);
      // The Cognito sign-in (and aws4fetch) is a chunk of its own, not in main.js.
      const signing = [];
      for (const file of built.files.filter((name) => name.endsWith(".js"))) {
        if ((await readFile(join(outDir, file), "utf8")).includes("AWS4-HMAC-SHA256")) signing.push(file);
      }
      expect(signing).toEqual([expect.stringMatching(/^chunk-/)]);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

describe("consoleCsp", () => {
  it("adds the origins a Cognito console connects to, and nothing unsafe", () => {
    // Act
    const policy = consoleCsp(
      cognitoConnectSources({
        apiOrigin: "https://abc.execute-api.eu-west-1.amazonaws.com",
        domainOrigin: "https://ops.auth.eu-west-1.amazoncognito.com",
        region: "eu-west-1",
      }),
    );
    // Assess
    expect(policy).toContain(
      "connect-src 'self' https://abc.execute-api.eu-west-1.amazonaws.com https://ops.auth.eu-west-1.amazoncognito.com https://cognito-identity.eu-west-1.amazonaws.com;",
    );
    expect(policy).not.toContain("unsafe");
    expect(consoleCsp()).toBe(POLICY);
  });
});
