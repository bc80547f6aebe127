import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../../functions/api/openapi.ts";
import { renderSchema } from "../../../local/docs/schema.ts";
import { DOCS_CSP, docsResponse } from "../../../local/docs.ts";

describe("/docs: the API reference rendered from the OpenAPI document", () => {
  const page = docsResponse("/docs");
  const html = page.body;

  it("answers the page and its style sheet, under a CSP without inline script or style", () => {
    // Act
    const css = docsResponse("/docs/docs.css");

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body).toContain(".method-get");
    for (const answer of [page, css]) {
      expect(answer.headers["content-security-policy"]).toBe(DOCS_CSP);
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    }
    expect(DOCS_CSP).toContain("default-src 'none'");
    expect(DOCS_CSP).toContain("style-src 'self'");
    expect(DOCS_CSP).not.toContain("unsafe-inline");
    expect(DOCS_CSP).not.toContain("script-src");
  });

  it("has no script, no inline style, no event handler; its only style is its own file", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('<link rel="stylesheet" href="/docs/docs.css">');
  });

  it("shows every operation and every schema of the document, and every link on the page lands", () => {
    // Prepare
    const document = openApiDocument();
    const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]));

    // Assess
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(ids.has(`op-${operation.operationId}`), operation.operationId).toBe(true);
        expect(html).toContain(
          `<span class="method method-${method}">${method.toUpperCase()}</span> <code>${path}</code>`,
        );
      }
    }
    for (const name of Object.keys(document.components.schemas))
      expect(ids.has(`schema-${name}`), name).toBe(true);
    const targets = [...html.matchAll(/href="#([^"]+)"/g)].map((match) => match[1]);
    expect(targets.length).toBeGreaterThan(50);
    expect(targets.filter((target) => !ids.has(target))).toEqual([]);
    expect(html).toContain('href="/openapi.json"');
  });

  it("escapes every text it shows (a description is text, never markup)", () => {
    // Act
    const rendered = renderSchema({
      type: "object",
      description: "<img src=x onerror=alert(1)>",
      properties: { "<b>name</b>": { type: "string", pattern: "^<a>$", description: "`<i>code</i>`" } },
    });

    // Assess
    expect(rendered).not.toContain("<img");
    expect(rendered).not.toContain("<b>");
    expect(rendered).not.toContain("<i>");
    expect(rendered).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(rendered).toContain("<code>&lt;i&gt;code&lt;/i&gt;</code>");
    // The document's own angle brackets too (X-Actor's description names cognito:<sub>).
    expect(html).toContain("cognito:&lt;sub&gt;");
  });

  it("answers 404 for any other path under /docs, and ignores a query string", () => {
    expect(docsResponse("/docs/other").status).toBe(404);
    expect(docsResponse("/docs/docs.css/x").status).toBe(404);
    expect(docsResponse("/docs/").body).toBe(html);
    expect(docsResponse("/docs?x=1").body).toBe(html);
  });
});
