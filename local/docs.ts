import type {
  JsonSchema,
  OpenApiDocument,
  OperationObject,
  ParameterObject,
  ResponseObject,
} from "../functions/api/openapi/shapes.ts";
import { openApiDocument } from "../functions/api/openapi.ts";

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

// ---- Rendering

const METHODS = ["get", "post", "patch", "delete"] as const;

interface Listed {
  readonly method: (typeof METHODS)[number];
  readonly path: string;
  readonly operation: OperationObject;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Escaped text, with the document's `backtick` spans as code. */
const prose = (text: string): string => escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");

const anchor = (prefix: string, name: string) => `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;

function operationsOf(document: OpenApiDocument): Listed[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method as keyof typeof item];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
}

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

const methodBadge = (method: string) =>
  `<span class="method method-${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span>`;

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

function renderOperation({ method, path, operation }: Listed): string {
  const id = anchor("op", operation.operationId);
  const open = operation.security !== undefined && operation.security.length === 0;
  const parts = [
    `<article class="operation" id="${id}" aria-labelledby="${id}-title">`,
    `<h3 id="${id}-title">${methodBadge(method)} <code>${escapeHtml(path)}</code></h3>`,
    `<p class="summary">${prose(operation.summary)}</p>`,
    operation.description ? `<p>${prose(operation.description)}</p>` : "",
    `<p class="auth">${open ? "Open: no credentials." : 'Needs <a href="#authentication">SigV4 or the bearer token</a>.'}</p>`,
  ];
  if (operation.parameters && operation.parameters.length > 0) {
    parts.push("<h4>Parameters</h4>", renderParameters(operation.parameters));
  }
  if (operation.requestBody) {
    const { required, description, content } = operation.requestBody;
    parts.push(
      "<h4>Request body</h4>",
      `<p>${required ? '<span class="req">required</span> ' : ""}<code>application/json</code>: ${prose(description)}</p>`,
      renderSchema(content["application/json"].schema),
    );
  }
  parts.push("<h4>Responses</h4>", renderResponses(operation.responses), "</article>");
  return parts.filter((part) => part !== "").join("\n");
}

function renderParameters(parameters: readonly ParameterObject[]): string {
  const rows = parameters.map(
    (parameter) =>
      `<tr><th scope="row"><code>${escapeHtml(parameter.name)}</code>${parameter.required ? ' <span class="req">required</span>' : ""}</th>` +
      `<td>${escapeHtml(parameter.in)}${parameter.explode ? " (each field its own parameter)" : ""}</td>` +
      `<td>${renderSchema(parameter.schema)}<p class="desc">${prose(parameter.description)}</p></td></tr>`,
  );
  return table(["Name", "In", "Schema and meaning"], rows);
}

function renderResponses(responses: Readonly<Record<string, ResponseObject>>): string {
  const rows = Object.entries(responses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, response]) => {
      const headers = Object.entries(response.headers ?? {}).map(
        ([name, header]) => `<li><code>${escapeHtml(name)}</code>: ${prose(header.description)}</li>`,
      );
      const schema = response.content?.["application/json"].schema;
      return (
        `<tr><th scope="row" class="status status-${escapeHtml(status.slice(0, 1))}xx">${escapeHtml(status)}</th>` +
        `<td>${prose(response.description)}${headers.length > 0 ? `<ul class="headers">${headers.join("")}</ul>` : ""}</td>` +
        `<td>${schema ? renderSchema(schema) : ""}</td></tr>`
      );
    });
  return table(["Status", "Meaning", "Body"], rows);
}

function table(columns: readonly string[], rows: readonly string[]): string {
  const head = columns.map((column) => `<th scope="col">${escapeHtml(column)}</th>`).join("");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

const MAX_DEPTH = 8;
/** zod's bound for integers: true, and noise on every count. */
const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const schemas = (value: unknown): JsonSchema[] => (Array.isArray(value) ? value.filter(isSchema) : []);

/** A JSON Schema as nested HTML: types, constraints, fields, choices, links to the named schemas. */
export function renderSchema(schema: JsonSchema, depth = 0): string {
  const description =
    typeof schema.description === "string" ? `<p class="desc">${prose(schema.description)}</p>` : "";
  if (depth > MAX_DEPTH) return `<span class="type">…</span>`;
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop() ?? schema.$ref;
    return `<a class="ref" href="#${anchor("schema", name)}">${escapeHtml(name)}</a>${description}`;
  }
  for (const keyword of ["anyOf", "oneOf"] as const) {
    const options = schemas(schema[keyword]);
    if (options.length > 0) {
      const items = options.map(
        (option) =>
          `<li>${typeof option.title === "string" ? `<strong>${escapeHtml(option.title)}</strong>: ` : ""}${renderSchema(option, depth + 1)}</li>`,
      );
      return `${description}<div class="choice"><span class="label">${keyword === "oneOf" ? "one of" : "any of"}</span><ul>${items.join("")}</ul></div>`;
    }
  }
  // A union of primitives comes as a list of types.
  const type = Array.isArray(schema.type)
    ? schema.type.map(String).join(" or ")
    : typeof schema.type === "string"
      ? schema.type
      : undefined;
  if (type === "object" || isSchema(schema.properties)) return description + renderObject(schema, depth);
  if (type === "array") {
    const tuple = schemas(schema.prefixItems);
    const items = isSchema(schema.items) ? schema.items : undefined;
    const of =
      tuple.length > 0
        ? `<ol class="tuple">${tuple.map((item) => `<li>${renderSchema(item, depth + 1)}</li>`).join("")}</ol>`
        : items
          ? renderSchema(items, depth + 1)
          : "any JSON";
    return `${description}<span class="type">${tuple.length > 0 ? "tuple" : "array of"}</span>${constraints(schema)} ${of}`;
  }
  if (type === undefined && schema.const === undefined && schema.enum === undefined) {
    return `<span class="type">any JSON</span>${description}`;
  }
  return `<span class="type">${escapeHtml(type ?? "value")}</span>${constraints(schema)}${description}`;
}

function renderObject(schema: JsonSchema, depth: number): string {
  const properties = isSchema(schema.properties)
    ? Object.entries(schema.properties).filter(([, value]) => isSchema(value))
    : [];
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const additional = schema.additionalProperties;
  const rows = (properties as [string, JsonSchema][]).map(
    ([name, property]) =>
      `<tr><th scope="row"><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ""}</th><td>${renderSchema(property, depth + 1)}</td></tr>`,
  );
  if (isSchema(additional)) {
    rows.push(
      `<tr><th scope="row"><em>any other name</em></th><td>${renderSchema(additional, depth + 1)}</td></tr>`,
    );
  }
  const closed = additional === false ? ' <span class="note">no other fields</span>' : "";
  if (rows.length === 0) return `<span class="type">object</span>${closed}`;
  return `<span class="type">object</span>${closed}<table class="fields"><tbody>${rows.join("")}</tbody></table>`;
}

function constraints(schema: JsonSchema): string {
  const notes: string[] = [];
  const number = (key: string) => (typeof schema[key] === "number" ? (schema[key] as number) : undefined);
  if (typeof schema.format === "string") notes.push(`format ${escapeHtml(schema.format)}`);
  // A format says it better than its regular expression (zod writes both for dates and times).
  else if (typeof schema.pattern === "string")
    notes.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const bounds: Array<[string, (n: number) => string]> = [
    ["minLength", (n) => `at least ${plural(n, "character")}`],
    ["maxLength", (n) => `at most ${plural(n, "character")}`],
    ["minItems", (n) => `at least ${plural(n, "item")}`],
    ["maxItems", (n) => `at most ${plural(n, "item")}`],
    ["minimum", (n) => `≥ ${n}`],
    ["exclusiveMinimum", (n) => `> ${n}`],
    ["maximum", (n) => `≤ ${n}`],
    ["exclusiveMaximum", (n) => `< ${n}`],
  ];
  for (const [key, text] of bounds) {
    const value = number(key);
    if (value !== undefined && Math.abs(value) !== SAFE_INTEGER_BOUND) notes.push(text(value));
  }
  if (schema.const !== undefined)
    notes.push(`exactly <code>${escapeHtml(JSON.stringify(schema.const))}</code>`);
  if (Array.isArray(schema.enum)) {
    notes.push(
      `one of ${schema.enum.map((value) => `<code>${escapeHtml(JSON.stringify(value))}</code>`).join(", ")}`,
    );
  }
  if (schema.default !== undefined)
    notes.push(`default <code>${escapeHtml(JSON.stringify(schema.default))}</code>`);
  return notes.length > 0 ? ` <span class="constraints">${notes.join(" · ")}</span>` : "";
}

/** The page's only style: its own file (the CSP has no 'unsafe-inline'). Contrast AA, one column when narrow. */
export const DOCS_CSS = `:root {
  color-scheme: light;
  --text: #1a1d21;
  --muted: #4a5360;
  --line: #d5dae1;
  --panel: #f5f7fa;
  --link: #0b57d0;
  --focus: #b45309;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--text);
  background: #fff;
}
a { color: var(--link); }
a:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code { font: 0.9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: 0.5rem 1rem; }
.skip:focus { left: 0.5rem; z-index: 1; }
header { padding: 1.5rem 2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0 0 0.5rem; font-size: 1.75rem; }
.version { font-size: 0.9rem; color: var(--muted); font-weight: normal; }
.layout { display: grid; grid-template-columns: minmax(14rem, 20rem) minmax(0, 1fr); }
.toc { padding: 1rem 1.5rem; border-right: 1px solid var(--line); font-size: 0.95rem; }
.toc h2 { font-size: 1.1rem; }
.toc h3 { font-size: 1rem; margin: 1.25rem 0 0.25rem; }
.toc ul { list-style: none; margin: 0; padding: 0; }
.toc li { margin: 0.25rem 0; }
.toc a { text-decoration: none; }
.toc a:hover code, .toc a:focus code { text-decoration: underline; }
main { padding: 1rem 2rem 4rem; min-width: 0; }
main > section { margin-bottom: 2.5rem; }
main h2 { font-size: 1.5rem; border-bottom: 2px solid var(--line); padding-bottom: 0.25rem; }
.operation, .schema { border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 1.25rem 1rem; margin: 1.25rem 0; }
.operation h3, .schema h3 { font-size: 1.15rem; margin: 0.75rem 0 0.25rem; overflow-wrap: anywhere; }
.operation h4 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
.summary { font-weight: 600; margin-top: 0; }
.auth { color: var(--muted); }
.method {
  display: inline-block;
  min-width: 4.2em;
  padding: 0.05em 0.4em;
  border-radius: 4px;
  color: #fff;
  font: 700 0.8rem/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  text-align: center;
}
.method-get { background: #05603a; }
.method-post { background: #1e40af; }
.method-patch { background: #9a3412; }
.method-delete { background: #9f1239; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-top: 1px solid var(--line); }
thead th { background: var(--panel); border-top: none; }
table.fields { margin-top: 0.35rem; font-size: 0.95em; }
table.fields th { font-weight: normal; white-space: nowrap; }
.req { color: #9f1239; font-size: 0.8em; font-weight: 600; }
.type { font-weight: 600; }
.constraints, .note { color: var(--muted); font-size: 0.9em; }
.desc { margin: 0.2rem 0 0; color: var(--muted); }
.choice ul { margin: 0.25rem 0; padding-left: 1.25rem; }
.choice .label { color: var(--muted); font-size: 0.9em; }
.tuple { margin: 0.25rem 0; padding-left: 1.5rem; }
.headers { margin: 0.25rem 0 0; padding-left: 1.25rem; }
.status { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.status-2xx { color: #05603a; }
.status-4xx { color: #9a3412; }
.status-5xx { color: #9f1239; }
@media (max-width: 60rem) {
  .layout { grid-template-columns: minmax(0, 1fr); }
  .toc { border-right: none; border-bottom: 1px solid var(--line); }
  header, main { padding-left: 1rem; padding-right: 1rem; }
  .operation, .schema { padding: 0.5rem 0.75rem 0.75rem; }
  table.fields th { white-space: normal; }
  th, td { padding: 0.35rem 0.4rem; overflow-wrap: anywhere; }
}
`;
