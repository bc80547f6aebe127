import { isDeepStrictEqual } from "node:util";
import type { ContentCodec } from "../codec.ts";
import type { Content } from "../model.ts";
import { type CompiledPattern, compilePattern, compileTemplate, RulesError } from "./patterns.ts";
import type { RuleAction } from "./schema.ts";

export type ActionOutcome =
  | { readonly kind: "changed"; readonly content: Content }
  | { readonly kind: "unchanged" }
  | { readonly kind: "skipped"; readonly reason: "not_json" };

/** A rule's action, compiled once: pure, and it never throws on any content. */
export interface CompiledAction {
  apply(content: Content, codec: ContentCodec): ActionOutcome;
}

const UNCHANGED: ActionOutcome = { kind: "unchanged" };
const NOT_JSON: ActionOutcome = { kind: "skipped", reason: "not_json" };

/**
 * Compiles an action that went through the `RuleAction` schema (patterns and templates checked there);
 * throws RulesError for one that did not and cannot compile.
 */
export function compileAction(action: RuleAction): CompiledAction {
  if ("replace" in action) return replaceAction(action.replace.pattern, action.replace.with);
  if ("redact" in action) return redactAction(action.redact.pattern, action.redact.mask);
  if ("mergeCustomData" in action) return mergeAction(action.mergeCustomData);
  return replaceTextAction(action.replaceText.text);
}

/** An action on the text alone: a message without text (an image, a custom element) is left as it is. */
function textAction(rewrite: (text: string) => string): CompiledAction {
  return {
    apply(content, codec) {
      const text = codec.text(content);
      if (text === "") return UNCHANGED;
      const next = rewrite(text);
      return next === text ? UNCHANGED : { kind: "changed", content: codec.withText(content, next) };
    },
  };
}

/**
 * Each non-empty match, leftmost first, replaced by `replacement(match)`. Empty matches are left alone:
 * a pattern such as `x*` acts on its runs of x, not on every gap between characters.
 */
function replaceMatches(pattern: CompiledPattern, replacement: (args: readonly unknown[]) => string) {
  return (text: string) => {
    // The DFA test is the cheap path: most texts do not match, and then no matcher is built.
    if (!pattern.re.test(text)) return text;
    return pattern.re
      .matcher(text)
      .replaceAll((...args: unknown[]) => (args[0] === "" ? "" : replacement(args)));
  };
}

function replaceAction(source: string, template: string): CompiledAction {
  const pattern = compilePattern(source);
  const parts = compileTemplate(template, pattern);
  if (typeof parts === "string") throw new RulesError(`with: ${parts}`);
  // The replacer gets (match, group 1, …, group n, offset, input[, groups]), groups null when unmatched.
  const expand = (args: readonly unknown[]) => {
    let out = "";
    for (const part of parts) {
      if (typeof part === "string") out += part;
      else {
        const value = args[part];
        if (typeof value === "string") out += value;
      }
    }
    return out;
  };
  return textAction(replaceMatches(pattern, expand));
}

function redactAction(source: string, mask: string): CompiledAction {
  return textAction(replaceMatches(compilePattern(source), () => mask));
}

function replaceTextAction(text: string): CompiledAction {
  return textAction(() => text);
}

/**
 * Shallow merge into the custom data object: no custom data is `{}`; custom data that is not a JSON
 * object (a plain string, an array) is the app's own business, so the rule skips it (`not_json`).
 */
function mergeAction(patch: Readonly<Record<string, unknown>>): CompiledAction {
  const entries = Object.entries(patch);
  return {
    apply(content, codec) {
      let current = codec.customData(content);
      if (current === undefined) {
        if (hasCustomData(content, codec)) return NOT_JSON;
        current = {};
      }
      const base = current;
      if (entries.every(([key, value]) => Object.hasOwn(base, key) && jsonEqual(base[key], value))) {
        return UNCHANGED;
      }
      return { kind: "changed", content: codec.withCustomData(content, { ...base, ...patch }) };
    },
  };
}

/**
 * Whether the content carries custom data at all (JSON or not). Codecs that cannot say are asked
 * indirectly: clearing the custom data changes the content only when there was some.
 */
function hasCustomData(content: Content, codec: ContentCodec): boolean {
  if (codec.hasCustomData !== undefined) return codec.hasCustomData(content);
  return !isDeepStrictEqual(codec.withCustomData(content, undefined), content);
}

/** Equality of JSON values: objects by their keys whatever the order, arrays in order, -0 equal to 0. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}
