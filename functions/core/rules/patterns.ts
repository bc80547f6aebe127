import { createRequire } from "node:module";
import type { RE2JS, RE2Set } from "re2js";
import { type AppErrorOptions, BadRequestError } from "../errors.ts";

/**
 * Patterns for rules and job selectors: RE2 syntax on `re2js`, a linear-time engine (no backtracking,
 * so no pattern can make a callback wait on catastrophic backtracking). Limits keep each pattern's
 * compiled program, and so its matching cost per character, small.
 */
export const RULE_LIMITS = {
  /** Rules in one file. */
  rules: 200,
  /** Characters (UTF-16 code units) in one pattern. */
  patternLength: 512,
  /** RE2 program instructions: `x{1000}` is ~1,000; a phone-number pattern ~20. */
  programSize: 5_000,
  /** Characters in `with`, `mask` and `replaceText.text`. */
  textLength: 4_096,
  /** Bytes of `mergeCustomData` serialized as JSON, and of one `match.customData` value. */
  jsonBytes: 4_096,
  /** Keys in `match.customData`. */
  customDataKeys: 32,
  /** Bytes of UTF-8 in `appId`, `conversation` and `sender`. */
  identifierBytes: 1_024,
  /** Bytes of a rules file. */
  fileBytes: 1_048_576,
} as const;

/**
 * A rules file, rule or pattern that cannot be used. A BadRequestError, so a job's `action` or selector
 * pattern that fails is a 400; at start it stops `npm start` and `cdk synth` with the same message.
 */
export class RulesError extends BadRequestError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, { code: "invalid_rules", ...options });
  }
}

/**
 * re2js, loaded by the first pattern compiled (a rules file at start, a job's text pattern), not when the
 * function is imported: it is 150 KB of the bundle that a deployment without rules never runs (`npm run
 * bench -- bundle`). Deployed, it is a file of its own beside the bundle (infra/constructs/bundling.ts
 * `LAZY_PACKAGES`); required synchronously (re2js ships a CommonJS build, and the bundle's copy is
 * CommonJS) because compiling a pattern is synchronous.
 */
let re2js: typeof import("re2js") | undefined;
const loadRe2js = (): typeof import("re2js") => {
  re2js ??= createRequire(import.meta.url)("re2js") as typeof import("re2js");
  return re2js;
};

/** A compiled pattern: does it match anywhere in a text (unanchored, like `RegExp.prototype.test`). */
export interface TextPattern {
  readonly source: string;
  test(text: string): boolean;
}

/** What the actions need beyond `test`: the RE2 program and its groups. */
export interface CompiledPattern extends TextPattern {
  readonly re: RE2JS;
  /** Capturing groups, group 0 (the whole match) not counted. */
  readonly groupCount: number;
  /** Named groups → their numbers. */
  readonly groupNames: ReadonlyMap<string, number>;
}

/** Why a pattern cannot be used ("pattern is not valid: …"), or undefined when it compiles within limits. */
export function patternProblem(source: unknown): string | undefined {
  const result = tryCompile(source);
  return typeof result === "string" ? result : undefined;
}

/** Compiles a pattern with the limits enforced; throws RulesError (never anything else) when it cannot. */
export function compilePattern(source: string): CompiledPattern {
  const result = tryCompile(source);
  if (typeof result === "string") throw new RulesError(result, { details: { pattern: clip(source) } });
  return result;
}

/**
 * Compiled patterns by source: a rules file names most patterns twice (`match.text` and the action's),
 * and the schema, the rule and the action each compile them. Bounded; a compiled pattern is immutable
 * to its users, so sharing it is safe.
 */
const compiled = new Map<string, CompiledPattern | string>();
const CACHE_SIZE = 1_000;

function tryCompile(source: unknown): CompiledPattern | string {
  if (typeof source !== "string") return "pattern must be a string";
  if (source.length > RULE_LIMITS.patternLength) {
    return `pattern is longer than ${RULE_LIMITS.patternLength} characters (${source.length})`;
  }
  const known = compiled.get(source);
  if (known !== undefined) return known;
  const result = compileUncached(source);
  if (compiled.size >= CACHE_SIZE) compiled.clear();
  compiled.set(source, result);
  return result;
}

function compileUncached(source: string): CompiledPattern | string {
  if (source === "") return "pattern is empty";
  if (!source.isWellFormed()) return "pattern holds a lone UTF-16 surrogate";
  // Outside the try: a missing engine is not the pattern's fault.
  const engine = loadRe2js().RE2JS;
  let re: RE2JS;
  try {
    re = engine.compile(source);
  } catch (thrown: unknown) {
    return `pattern is not valid: ${reason(thrown)}`;
  }
  const size = re.programSize();
  if (size > RULE_LIMITS.programSize) {
    return `pattern is too complex: ${size} instructions, at most ${RULE_LIMITS.programSize} (large repeat counts like {1000} cost one instruction per repeat)`;
  }
  const groupNames = new Map(Object.entries(re.namedGroups()));
  return {
    source,
    re,
    groupCount: re.groupCount(),
    groupNames,
    test: (text) => re.test(text),
  };
}

function reason(thrown: unknown): string {
  if (thrown instanceof loadRe2js().RE2JSSyntaxException) {
    // "error parsing regexp: missing closing ): `(`": the prefix says nothing the caller does not know.
    return thrown.message.replace(/^error parsing regexp: /, "");
  }
  return thrown instanceof Error ? thrown.message : String(thrown);
}

const clip = (text: string) => (text.length > 80 ? `${text.slice(0, 80)}…` : text);

/**
 * A replacement template (`replace.with`): `$1`-`$9` and `${n}` insert group n, `${name}` a named
 * group, `$&` the whole match, `$$` a literal `$`. Any other `$` is an error, so a typo never inserts
 * text silently. A group that took no part in the match inserts nothing.
 */
export type TemplatePart = string | number;

/** Parses a template against its pattern's groups; a string is the reason it cannot be used. */
export function compileTemplate(template: string, pattern: CompiledPattern): TemplatePart[] | string {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const char = template[i];
    if (char !== "$") {
      literal += char;
      i++;
      continue;
    }
    const next = template[i + 1];
    let group: number | undefined;
    if (next === "$") {
      literal += "$";
      i += 2;
      continue;
    }
    if (next === "&") {
      group = 0;
      i += 2;
    } else if (next !== undefined && next >= "1" && next <= "9") {
      group = Number(next);
      i += 2;
    } else if (next === "{") {
      const close = template.indexOf("}", i + 2);
      if (close === -1) return `\`$\{\` at ${i} has no closing }`;
      const name = template.slice(i + 2, close);
      if (/^\d{1,3}$/.test(name)) group = Number(name);
      else {
        group = pattern.groupNames.get(name);
        if (group === undefined) return `\`$\{${name}}\` names no group of the pattern`;
      }
      i = close + 1;
    } else {
      return `\`$\` at ${i} must be followed by $, &, a digit 1-9 or {group}; write $$ for a literal $`;
    }
    if (group > pattern.groupCount) {
      const groups = pattern.groupCount === 1 ? "1 group" : `${pattern.groupCount} groups`;
      return `refers to group ${group}, but the pattern has ${groups}`;
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push(group);
  }
  if (literal !== "") parts.push(literal);
  return parts;
}

/** Instructions per combined program: a few typical rules' worth each, so no one DFA grows large. */
const SET_PROGRAM_SIZE = 20_000;

/**
 * Many patterns tested on one text in one pass per chunk (RE2Set: one automaton for all of them) instead
 * of one pass per pattern: with 100 rules, ~100x less work per callback. `matching(text)` answers
 * exactly what each pattern's own `test` would.
 */
export class PatternIndex {
  readonly #chunks: { set: RE2Set | undefined; patterns: CompiledPattern[]; first: number }[] = [];
  readonly size: number;

  constructor(patterns: readonly CompiledPattern[]) {
    this.size = patterns.length;
    let chunk: CompiledPattern[] = [];
    let first = 0;
    let program = 0;
    const close = () => {
      if (chunk.length > 0) this.#chunks.push({ set: combine(chunk), patterns: chunk, first });
      first += chunk.length;
      chunk = [];
      program = 0;
    };
    for (const pattern of patterns) {
      const size = pattern.re.programSize();
      if (chunk.length > 0 && program + size > SET_PROGRAM_SIZE) close();
      chunk.push(pattern);
      program += size;
    }
    close();
  }

  /** Which patterns (by position) match somewhere in `text`. */
  matching(text: string): Uint8Array {
    const hits = new Uint8Array(this.size);
    for (const { set, patterns, first } of this.#chunks) {
      if (set !== undefined) {
        for (const index of set.match(text)) hits[first + index] = 1;
      } else {
        for (const [index, pattern] of patterns.entries()) if (pattern.test(text)) hits[first + index] = 1;
      }
    }
    return hits;
  }
}

/** One automaton for a chunk, or undefined when it cannot be built (its patterns are then tested one by one). */
function combine(patterns: readonly CompiledPattern[]): RE2Set | undefined {
  if (patterns.length < 2) return undefined;
  try {
    const { RE2Set: Combined } = loadRe2js();
    const set = new Combined(Combined.UNANCHORED);
    for (const pattern of patterns) set.add(pattern.source);
    set.compile();
    return set;
  } catch {
    return undefined;
  }
}
