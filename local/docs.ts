import type { OpenApiDocument } from "../functions/api/openapi/shapes.ts";
import { openApiDocument } from "../functions/api/openapi.ts";
import { anchor, escapeHtml, prose } from "./docs/html.ts";
import { methodBadge, operationsOf, renderOperation } from "./docs/operations.ts";
import { renderSchema } from "./docs/schema.ts";
import { DOCS_CSS } from "./docs/styles.ts";

/**
 * `npm start`'s API reference: `/docs` is an HTML page rendered from the OpenAPI document (the one
 * `GET /openapi.json` answers), `/docs/docs.css` its style sheet. No script at all, no inline style: the
 * CSP allows the page's own style sheet and nothing else. Every text from the document is escaped.
 */
export interface DocsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const DOCS_PATH = "/docs";
export const DOCS_CSS_PATH = "/docs/docs.css";

/** As the console's, less what a page without script needs (it connects nowhere and submits nothing). */
export const DOCS_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "content-security-policy": DOCS_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** The answer for a path under `/docs` (GET or HEAD; a query string is ignored): the page, its CSS, or 404. */
export function docsResponse(path: string): DocsResponse {
  const pathname = path.split("?")[0] ?? "";
  if (pathname === DOCS_PATH || pathname === `${DOCS_PATH}/`) {
    page ??= renderPage(openApiDocument());
    return {
      status: 200,
      headers: { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS },
      body: page,
    };
  }
  if (pathname === DOCS_CSS_PATH) {
    return {
      status: 200,
      headers: { "content-type": "text/css; charset=utf-8", ...SECURITY_HEADERS },
      body: DOCS_CSS,
    };
  }
  return {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS },
    body: "not found\n",
  };
}

let page: string | undefined;

function renderPage(document: OpenApiDocument): string {
  const listed = operationsOf(document);
  const byTag = document.tags.map((tag) => ({
    ...tag,
    operations: listed.filter(({ operation }) => operation.tags.includes(tag.name)),
  }));
  const schemaNames = Object.keys(document.components.schemas);
  const nav = [
    '<nav class="toc" aria-label="Contents">',
    "<h2>Contents</h2>",
    '<ul><li><a href="#authentication">Authentication</a></li></ul>',
    ...byTag
      .filter(({ operations }) => operations.length > 0)
      .flatMap(({ name, operations }) => [
        `<h3><a href="#${anchor("tag", name)}">${escapeHtml(name)}</a></h3>`,
        "<ul>",
        ...operations.map(
          ({ method, path, operation }) =>
            `<li><a href="#${anchor("op", operation.operationId)}">${methodBadge(method)} <code>${escapeHtml(path)}</code></a></li>`,
        ),
        "</ul>",
      ]),
    `<h3><a href="#schemas">Schemas</a></h3>`,
    "<ul>",
    ...schemaNames.map((name) => `<li><a href="#${anchor("schema", name)}">${escapeHtml(name)}</a></li>`),
    "</ul>",
    "</nav>",
  ];
  const main = [
    '<main id="main">',
    renderAuthentication(document),
    ...byTag
      .filter(({ operations }) => operations.length > 0)
      .map(({ name, description, operations }) =>
        [
          `<section id="${anchor("tag", name)}" aria-labelledby="${anchor("tag", name)}-title">`,
          `<h2 id="${anchor("tag", name)}-title">${escapeHtml(name)}</h2>`,
          `<p>${prose(description)}</p>`,
          ...operations.map(renderOperation),
          "</section>",
        ].join("\n"),
      ),
    '<section id="schemas" aria-labelledby="schemas-title">',
    '<h2 id="schemas-title">Schemas</h2>',
    ...schemaNames.map((name) =>
      [
        `<article class="schema" id="${anchor("schema", name)}" aria-labelledby="${anchor("schema", name)}-title">`,
        `<h3 id="${anchor("schema", name)}-title">${escapeHtml(name)}</h3>`,
        renderSchema(document.components.schemas[name] ?? {}),
        "</article>",
      ].join("\n"),
    ),
    "</section>",
    "</main>",
  ];
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(document.info.title)} API reference</title>`,
    `<link rel="stylesheet" href="${DOCS_CSS_PATH}">`,
    "</head>",
    "<body>",
    '<a class="skip" href="#main">Skip to the reference</a>',
    "<header>",
    `<h1>${escapeHtml(document.info.title)} API <span class="version">${escapeHtml(document.info.version)}</span></h1>`,
    `<p>${prose(document.info.description)}</p>`,
    `<p class="links"><a href="/openapi.json">OpenAPI ${escapeHtml(document.openapi)} document (JSON)</a> · <a href="/console/">Operator console</a></p>`,
    "</header>",
    '<div class="layout">',
    ...nav,
    ...main,
    "</div>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function renderAuthentication(document: OpenApiDocument): string {
  const schemes = Object.entries(document.components.securitySchemes).map(
    ([name, scheme]) =>
      `<dt><code>${escapeHtml(name)}</code> (${escapeHtml(scheme.type === "http" ? `HTTP ${scheme.scheme ?? ""}` : `${scheme.in ?? ""} ${scheme.name ?? ""}`)})</dt><dd>${prose(scheme.description)}</dd>`,
  );
  return [
    '<section id="authentication" aria-labelledby="authentication-title">',
    '<h2 id="authentication-title">Authentication</h2>',
    "<p>Every route needs one of these unless it says it is open.</p>",
    `<dl>${schemes.join("")}</dl>`,
    "</section>",
  ].join("\n");
}
