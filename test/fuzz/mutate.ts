/**
 * Seeded, deterministic input mutation for the fuzz suites (test/fuzz/*.test.ts). Everything here is a
 * pure function of the seed: the same seed gives the same mutations in the same order, so a failure
 * printed with its seed and label can be replayed with `FUZZ_SEED=<seed> npx vitest run test/fuzz`.
 */

/** The fixed default seed; `FUZZ_SEED` overrides it (e.g. to explore, or to replay a reported run). */
export const DEFAULT_SEED = 0x13ed17;

export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given === undefined || given === "") return DEFAULT_SEED;
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${given}`);
  return seed;
}

/** mulberry32: small, fast, good enough to pick mutations, and identical on every platform. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)] as T;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  /** `count` items drawn without replacement, in draw order (all of them when there are fewer). */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(this.int(pool.length), 1)[0] as T);
    return out;
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = readonly (string | number)[];

/** Names an attacker tries because a naive lookup finds them on every object. */
export const INHERITED_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
] as const;

/** Nested arrays `depth` deep around `leaf`, built without recursion. */
export function nested(depth: number, leaf: Json = 1, as: "array" | "object" = "array"): Json {
  let value: Json = leaf;
  for (let i = 0; i < depth; i++) value = as === "array" ? [value] : { a: value };
  return value;
}

/** An object with an own property of any name, `__proto__` included (plain assignment would not). */
export function withOwn(target: Record<string, Json>, name: string, value: Json): Record<string, Json> {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Values of the wrong type, at the edges of every range, or hostile as strings. */
export const HOSTILE_VALUES: readonly { readonly label: string; readonly value: Json }[] = [
  { label: "null", value: null },
  { label: "true", value: true },
  { label: "false", value: false },
  { label: "0", value: 0 },
  { label: "-1", value: -1 },
  { label: "1.5", value: 1.5 },
  { label: "2^31", value: 2 ** 31 },
  { label: "2^32", value: 2 ** 32 },
  { label: "2^53-1", value: Number.MAX_SAFE_INTEGER },
  { label: "2^53+2", value: 2 ** 53 + 2 },
  { label: "1e13", value: 1e13 },
  { label: "8.64e12", value: 8.64e12 },
  { label: "8.64e15+1", value: 8.64e15 + 1 },
  { label: "1e21", value: 1e21 },
  { label: "1e308", value: 1e308 },
  { label: "-1e308", value: -1e308 },
  { label: "1e-200", value: 1e-200 },
  { label: "empty string", value: "" },
  { label: "space", value: " " },
  { label: "digits 0", value: "0" },
  { label: "digits -1", value: "-1" },
  { label: "digits 16", value: "9999999999999999" },
  { label: "digits 20", value: "99999999999999999999" },
  { label: "digits 8.64e15+1", value: "8640000000000001" },
  { label: "exponent", value: "1e3" },
  { label: "NaN", value: "NaN" },
  { label: "constructor", value: "constructor" },
  { label: "__proto__", value: "__proto__" },
  { label: "toString", value: "toString" },
  { label: "hasOwnProperty", value: "hasOwnProperty" },
  { label: "lone high surrogate", value: "\ud800" },
  { label: "lone low surrogate inside", value: "a\udfffb" },
  { label: "NUL", value: "\u0000" },
  { label: "NUL inside", value: "a\u0000b" },
  { label: "emoji", value: "🙂" },
  { label: "RTL override", value: "\u202eabc" },
  { label: "separators", value: "a|b#c:d/e%f" },
  { label: "percent junk", value: "%E0%A4%A" },
  { label: "path", value: "../../etc/passwd" },
  { label: "empty array", value: [] },
  { label: "array of null", value: [null] },
  { label: "empty object", value: {} },
  { label: "object", value: { a: 1 } },
  { label: "own __proto__ key", value: withOwn({}, "__proto__", { polluted: true }) },
  { label: "constructor key", value: { constructor: "x", toString: 1 } },
  { label: "300 chars", value: "x".repeat(300) },
  { label: "5000 chars", value: "y".repeat(5000) },
  { label: "3000 CJK chars", value: "界".repeat(3000) },
  { label: "1000 emoji", value: "🙂".repeat(1000) },
  { label: "60000 chars", value: "z".repeat(60_000) },
  { label: "nested 40", value: nested(40) },
  { label: "nested 40 objects", value: nested(40, "x", "object") },
  { label: "nested 3000", value: nested(3000) },
];

/** The hostile values that nest at most a few levels (composed mutations clone them again). */
const SHALLOW_VALUES = HOSTILE_VALUES.filter(({ label }) => !label.startsWith("nested"));

/** Every path below the root (objects' keys and arrays' indexes), parents before children. */
export function pathsOf(root: Json): Path[] {
  const paths: Path[] = [];
  const stack: { value: Json; path: Path }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: Json; path: Path };
    if (path.length > 0) paths.push(path);
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) stack.push({ value: item, path: [...path, i] });
    } else if (value !== null && typeof value === "object")
      for (const [key, item] of Object.entries(value)) stack.push({ value: item, path: [...path, key] });
  }
  return paths.reverse();
}

/** The paths of objects (the root included), where keys can be added. */
export function objectPathsOf(root: Json): Path[] {
  const isObject = (value: unknown) => value !== null && typeof value === "object" && !Array.isArray(value);
  return [[], ...pathsOf(root)].filter((path) => isObject(valueAt(root, path)));
}

export function valueAt(root: Json, path: Path): Json | undefined {
  let value: Json | undefined = root;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, Json>)[part];
  }
  return value;
}

const clone = (value: Json): Json => structuredClone(value);

/** A copy with the value at `path` replaced (or removed when `value` is undefined). */
export function withValue(root: Json, path: Path, value: Json | undefined): Json {
  const copy = clone(root);
  let parent = copy as Record<string | number, Json>;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, Json>;
  const last = path.at(-1);
  if (last === undefined) return value ?? null;
  if (value === undefined) {
    if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
    else delete parent[last];
  } else if (Array.isArray(parent)) parent[last as number] = value;
  else withOwn(parent as Record<string, Json>, String(last), value);
  return copy;
}

const show = (path: Path) => (path.length === 0 ? "(root)" : path.join("."));

export interface JsonMutation {
  readonly label: string;
  readonly json: Json;
}

/**
 * The systematic set: every field removed, every field replaced by every hostile value, inherited
 * names added as keys to every object.
 */
export function systematicMutations(payload: Json): JsonMutation[] {
  const out: JsonMutation[] = [];
  for (const path of pathsOf(payload)) {
    out.push({ label: `delete ${show(path)}`, json: withValue(payload, path, undefined) });
    for (const { label, value } of HOSTILE_VALUES)
      out.push({ label: `${show(path)} = ${label}`, json: withValue(payload, path, value) });
  }
  for (const path of objectPathsOf(payload)) {
    for (const name of INHERITED_NAMES) {
      for (const value of [{}, "x", 1, null] as Json[]) {
        const target = clone(valueAt(payload, path) ?? {}) as Record<string, Json>;
        out.push({
          label: `${show(path)} + key ${name}=${JSON.stringify(value)}`,
          json: withValue(payload, path, withOwn(target, name, value)),
        });
      }
    }
  }
  return out;
}

/** `count` random compositions of 2 to 4 systematic changes. */
export function combinedMutations(payload: Json, random: Random, count: number): JsonMutation[] {
  const out: JsonMutation[] = [];
  for (let i = 0; i < count; i++) {
    let json = payload;
    const labels: string[] = [];
    for (let step = 2 + random.int(3); step > 0; step--) {
      // Shallow paths only: a composed change never descends into an inserted hostile value.
      const paths = pathsOf(json).filter((path) => path.length <= 5);
      if (paths.length === 0) break;
      const path = random.pick(paths);
      if (random.chance(0.2)) {
        json = withValue(json, path, undefined);
        labels.push(`delete ${show(path)}`);
      } else {
        const { label, value } = random.pick(SHALLOW_VALUES);
        json = withValue(json, path, value);
        labels.push(`${show(path)} = ${label}`);
      }
    }
    out.push({ label: `combo: ${labels.join(", ")}`, json });
  }
  return out;
}

export interface RawMutation {
  readonly label: string;
  readonly body: Buffer;
}

/** Mutations of the bytes: truncation, duplicate keys, bad UTF-8, non-objects, numbers JSON.stringify never writes. */
export function rawMutations(payload: Json, random: Random): RawMutation[] {
  const text = JSON.stringify(payload);
  const bytes = Buffer.from(text);
  const out: RawMutation[] = [];
  const raw = (label: string, body: string | Buffer) =>
    out.push({ label, body: Buffer.isBuffer(body) ? body : Buffer.from(body) });
  for (const cut of new Set([
    0,
    1,
    2,
    Math.floor(bytes.length / 2),
    bytes.length - 1,
    random.int(bytes.length),
  ]))
    raw(`truncated at ${cut}`, bytes.subarray(0, cut));
  raw("whitespace only", " \n\t ");
  raw("BOM prefix", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
  raw(
    "invalid UTF-8 inside",
    Buffer.concat([bytes.subarray(0, 1), Buffer.from([0xff, 0xfe, 0xc0]), bytes.subarray(1)]),
  );
  raw(
    "overlong UTF-8 NUL",
    Buffer.concat([
      bytes.subarray(0, -1),
      Buffer.from(',"x":"'),
      Buffer.from([0xc0, 0x80]),
      Buffer.from('"}'),
    ]),
  );
  raw("trailing garbage", `${text}}{`);
  raw("two documents", `${text}${text}`);
  raw("unescaped control char", text.replace(/"([^"]*)"/, '"\u0001$1"'));
  for (const [label, value] of [
    ["array", `[${text}]`],
    ["string", JSON.stringify(text)],
    ["number", "42"],
    ["null", "null"],
    ["true", "true"],
    ["empty object", "{}"],
  ] as const)
    raw(`not an object: ${label}`, value);
  const keys =
    payload !== null && typeof payload === "object" && !Array.isArray(payload) ? Object.keys(payload) : [];
  for (const key of keys) {
    const { label, value } = random.pick(HOSTILE_VALUES);
    const duplicate = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    raw(`duplicate ${key} first (${label})`, `{${duplicate},${text.slice(1)}`);
    raw(`duplicate ${key} last (${label})`, `${text.slice(0, -1)},${duplicate}}`);
  }
  // Numbers only hand-written JSON holds: beyond double range, below it, longer than a double.
  const numeric = [...text.matchAll(/:(-?\d+(?:\.\d+)?)(?=[,}\]])/g)];
  for (const literal of [
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "123456789012345678901234567890",
    "1E5",
    "0.0000001",
  ]) {
    const match = numeric.length > 0 ? random.pick(numeric) : undefined;
    if (match?.index === undefined) break;
    raw(
      `number ${match[1]} written as ${literal}`,
      `${text.slice(0, match.index + 1)}${literal}${text.slice(match.index + 1 + (match[1]?.length ?? 0))}`,
    );
  }
  // Escapes JSON.parse accepts and turns into strings UTF-8 cannot hold.
  const strings = [...text.matchAll(/:"([^"\\]*)"/g)];
  for (const sequence of ["\\ud800", "\\udc00x", "\\u0000", "\\ud83d\\ude42"]) {
    const match = strings.length > 0 ? random.pick(strings) : undefined;
    if (match?.index === undefined) break;
    raw(
      `string escape ${sequence}`,
      `${text.slice(0, match.index + 2)}${sequence}${text.slice(match.index + 2)}`,
    );
  }
  raw("over the 64 KB cap", `${text.slice(0, -1)},"pad":"${"x".repeat(70_000)}"}`);
  raw("deep nesting 20000", `{"deep":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
  return out;
}

/** Content types a caller may send (the recorder reads the raw bytes whatever they say). */
export const CONTENT_TYPES: readonly (string | undefined)[] = [
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/octet-stream",
  "multipart/form-data; boundary=x",
  "application/json; charset=gbk",
  undefined,
];

/** Tallies of answers by status, printed by the suites. */
export class Tally {
  readonly byStatus = new Map<number, number>();
  total = 0;
  add(status: number): void {
    this.total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }
  toString(): string {
    const parts = [...this.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
    return `${this.total} (${parts.join(", ")})`;
  }
}

/** Checks that DynamoDB (not only dynalite) can hold a value: nesting, numbers, well-formed strings. */
export function storageProblem(value: unknown, maxDepth: number): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: item, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof item === "number") {
      if (!Number.isFinite(item) || Math.abs(item) > Number.MAX_SAFE_INTEGER) return `number ${item}`;
      if (item !== 0 && Math.abs(item) < 1e-130) return `number ${item}`;
    } else if (typeof item === "string") {
      if (!item.isWellFormed()) return "string with a lone surrogate";
    } else if (item !== null && typeof item === "object") {
      if (depth > maxDepth) return `nested deeper than ${maxDepth}`;
      for (const [key, child] of Object.entries(item)) {
        if (!key.isWellFormed()) return "key with a lone surrogate";
        stack.push({ value: child, depth: depth + 1 });
      }
    } else if (typeof item !== "boolean" && item !== null && item !== undefined) {
      return `a ${typeof item}`;
    }
  }
  return undefined;
}
