import type {
  OpenApiDocument,
  OperationObject,
  ParameterObject,
  ResponseObject,
} from "../../functions/api/openapi/shapes.ts";
import { anchor, escapeHtml, prose } from "./html.ts";
import { renderSchema } from "./schema.ts";

const METHODS = ["get", "post", "patch", "delete"] as const;

export interface Listed {
  readonly method: (typeof METHODS)[number];
  readonly path: string;
  readonly operation: OperationObject;
}

/** The document's operations, path by path in its order. */
export function operationsOf(document: OpenApiDocument): Listed[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method as keyof typeof item];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
}

export const methodBadge = (method: string) =>
  `<span class="method method-${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span>`;

export function renderOperation({ method, path, operation }: Listed): string {
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
