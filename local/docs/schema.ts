import type { JsonSchema } from "../../functions/api/openapi/shapes.ts";
import { anchor, escapeHtml, prose } from "./html.ts";

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
