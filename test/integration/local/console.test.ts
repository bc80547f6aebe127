import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../../../functions/http/respond.ts";
import { type RunningServer, startLocalServer } from "../../../local/server.ts";

/**
 * The local server's own pages beside the API, over real HTTP: the operator console under /console/ and
 * the API reference under /docs, open (no token), each with its CSP; the API's routes unchanged.
 */
describe("local server: console and docs", () => {
  let server: RunningServer;

  beforeAll(async () => {
    const handler = async () => json(200, { handled: true });
    server = await startLocalServer({
      host: "127.0.0.1",
      port: 0,
      apiToken: "token",
      handlers: { recorder: handler, editor: handler },
      maxBodyBytes: 1024,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = async (path: string, method: "GET" | "POST" | "HEAD" = "GET") => {
    const reply = await request(`${server.url}${path}`, { method });
    return { status: reply.statusCode, headers: reply.headers, body: await reply.body.text() };
  };

  it("serves the console without a token, its page, script and config with the CSP", async () => {
    // Act
    const page = await get("/console/");
    const script = /src="([^"]+\.js)"/.exec(page.body)?.[1] ?? "";
    const js = await get(`/console/${script}`);
    const config = await get("/console/config.json");
    const bare = await get("/console");
    // Assess
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(JSON.parse(config.body)).toEqual({ mode: "token", apiUrl: "" });
    for (const reply of [page, js, config]) {
      expect(reply.headers["content-security-policy"]).toMatch(
        /^default-src 'none'; script-src 'self'; style-src 'self';/,
      );
    }
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/console/");
  });

  it("serves the API reference and its style sheet without a token, GET and HEAD only", async () => {
    // Act
    const docs = await get("/docs");
    const css = await get("/docs/docs.css");
    const head = await get("/docs", "HEAD");
    const post = await get("/docs", "POST");
    // Assess
    expect(docs.status).toBe(200);
    expect(docs.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(docs.body).toContain("/v1/messages");
    expect(docs.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(css.status).toBe(200);
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("leaves the API as it was: /v1 needs the token, unknown paths are 404", async () => {
    // Act
    const api = await get("/v1/messages");
    const unknown = await get("/consoles");
    // Assess
    expect(api.status).toBe(401);
    expect(unknown.status).toBe(404);
  });
});
