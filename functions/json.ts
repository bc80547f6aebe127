import { BadRequestError } from "./core/errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Deepest nesting any body may have. DynamoDB holds 32 levels per item, and a body's values are
 * stored one or two levels down (a record's `content`, an idempotency record's response); real
 * payloads nest 5 or 6 deep.
 */
export const MAX_JSON_DEPTH = 24;

/** Parses raw request bytes as JSON whatever the Content-Type said; bad bytes or syntax are a 400. */
export function parseJsonBody(
  body: Uint8Array,
  reviver?: (key: string, value: unknown, context?: { source?: string }) => unknown,
): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BadRequestError("body is not valid UTF-8", { code: "invalid_json" });
  }
  if (text.trim() === "") throw new BadRequestError("body is empty", { code: "invalid_json" });
  let value: unknown;
  try {
    value = JSON.parse(text, reviver as ((key: string, value: unknown) => unknown) | undefined);
  } catch (thrown: unknown) {
    const reason = thrown instanceof SyntaxError ? thrown.message : "unparseable";
    throw new BadRequestError(`body is not valid JSON: ${reason}`, { code: "invalid_json" });
  }
  const problem = jsonProblem(value, { storable: false });
  if (problem !== undefined) throw new BadRequestError(`body ${problem}`, { code: "invalid_json" });
  return value;
}

/**
 * Why a parsed JSON value cannot be kept as it is, if it cannot: nesting deeper than MAX_JSON_DEPTH, a
 * string or key holding a lone UTF-16 surrogate (`"\ud800"` is valid JSON, but no UTF-8 store or
 * provider can hold it: it would come back as U+FFFD, another value), and with `storable`, what the
 * store cannot keep exactly: a number not finite, beyond ±(2^53 − 1) or a non-zero below DynamoDB's
 * 1e-130, and the keys `constructor` (the DynamoDB document client reads an object's type from it and
 * refuses or mangles the item) and `__proto__` (dropped when the item is built).
 * Iterative, so hostile nesting cannot overflow the stack.
 */
export function jsonProblem(value: unknown, options: { readonly storable: boolean }): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: "", depth: 0 }];
  while (stack.length > 0) {
    const { value: item, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    const at = path === "" ? "" : ` at ${path.slice(0, 120)}`;
    if (typeof item === "string") {
      if (!item.isWellFormed()) return `holds a lone UTF-16 surrogate${at}: text must be valid Unicode`;
    } else if (typeof item === "number") {
      if (options.storable && !storableNumber(item)) {
        return `holds the number ${item}${at}, which cannot be stored exactly (integers up to ±(2^53 − 1))`;
      }
    } else if (item !== null && typeof item === "object") {
      if (depth >= MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels${at}`;
      if (Array.isArray(item)) {
        for (let i = item.length - 1; i >= 0; i--)
          stack.push({ value: item[i], path: `${path}[${i}]`, depth: depth + 1 });
      } else {
        for (const [key, child] of Object.entries(item)) {
          if (!key.isWellFormed())
            return `holds a key with a lone UTF-16 surrogate${at}: text must be valid Unicode`;
          if (options.storable && UNSTORABLE_KEYS.has(key))
            return `holds the key "${key}"${at}, which the store cannot keep`;
          stack.push({ value: child, path: path === "" ? key : `${path}.${key}`, depth: depth + 1 });
        }
      }
    }
  }
  return undefined;
}

const UNSTORABLE_KEYS = new Set(["constructor", "__proto__"]);

const storableNumber = (value: number): boolean =>
  Number.isFinite(value) &&
  Math.abs(value) <= Number.MAX_SAFE_INTEGER &&
  (value === 0 || Math.abs(value) >= 1e-130);
