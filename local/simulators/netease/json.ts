import { Code, YunxinError } from "./errors.ts";

/**
 * JSON with exact 64-bit integers. Yunxin's message_server_id is a Java Long, often above 2^53, sent and
 * answered as a bare JSON number. Node 24 gives the reviver the number's source text and has
 * JSON.rawJSON to write one back unchanged; TypeScript's lib lacks both, hence the local declarations.
 */
export type JsonObject = { [key: string]: unknown };

/** A number kept as its source text (a frozen `{rawJSON}` object that JSON.stringify writes verbatim). */
export interface RawJson {
  readonly rawJSON: string;
}

interface ReviverContext {
  readonly source?: string;
}

interface Json24 {
  parse(
    text: string,
    reviver: (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown,
  ): unknown;
  rawJSON(text: string): RawJson;
  isRawJSON(value: unknown): value is RawJson;
}

const JSON24 = JSON as unknown as Json24;

/**
 * Parses `text`, keeping every number that would not print back as its own source text (an integer
 * above 2^53, `1.0`, `1e3`, `-0`) as RawJson. Re-serialising the result gives the same numbers, and the
 * handlers can tell a lossless integer from one a client already rounded.
 */
export function parseExact(text: string): unknown {
  return JSON24.parse(text, (_key, value, context) => {
    if (typeof value !== "number" || context?.source === undefined) return value;
    return String(value) === context.source ? value : JSON24.rawJSON(context.source);
  });
}

/** A JSON number written exactly as `digits` (used for message_server_id and team_id). */
export function rawNumber(digits: string): RawJson {
  return JSON24.rawJSON(digits);
}

/** The source text of a JSON number as parseExact left it, or undefined for anything else. */
export function numberSource(value: unknown): string | undefined {
  if (typeof value === "number") return String(value);
  if (JSON24.isRawJSON(value)) return value.rawJSON;
  return undefined;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !JSON24.isRawJSON(value);
}

// ---- field readers: each refuses with 414 naming the field ---------------------------------------------

const bad = (name: string, what: string) => new YunxinError(Code.param, `${name} ${what}`);

export function requiredString(object: JsonObject, key: string, name = key): string {
  const value = object[key];
  if (typeof value !== "string") throw bad(name, value === undefined ? "is missing" : "must be a string");
  if (value === "") throw bad(name, "must not be empty");
  return value;
}

export function optionalString(object: JsonObject, key: string, name = key): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw bad(name, "must be a string");
  return value;
}

/** An integer written as plain digits (a JSON number, not a string) within the safe range. */
export function requiredInteger(object: JsonObject, key: string, name = key): number {
  const value = object[key];
  if (value === undefined || value === null) throw bad(name, "is missing");
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw bad(name, "must be an integer number");
  return value;
}

export function optionalInteger(object: JsonObject, key: string, name = key): number | undefined {
  return object[key] === undefined || object[key] === null ? undefined : requiredInteger(object, key, name);
}

export function optionalBoolean(object: JsonObject, key: string, name = key): boolean | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw bad(name, "must be a boolean");
  return value;
}

export function requiredObject(object: JsonObject, key: string, name = key): JsonObject {
  const value = object[key];
  if (value === undefined || value === null) throw bad(name, "is missing");
  if (!isObject(value)) throw bad(name, "must be a JSON object");
  return value;
}

export function optionalObject(object: JsonObject, key: string, name = key): JsonObject | undefined {
  return object[key] === undefined || object[key] === null ? undefined : requiredObject(object, key, name);
}

/** Yunxin's "长度上限 N 位字符": counted in UTF-16 code units, as Java's String.length() does. */
export function checkLength(value: string | undefined, max: number, name: string): void {
  if (value !== undefined && value.length > max) throw bad(name, `is longer than ${max} characters`);
}
