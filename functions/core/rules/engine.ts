import * as z from "../../zod.ts";
import type { ContentCodec } from "../codec.ts";
import type { Content, Kind, ProviderName } from "../model.ts";
import { type CompiledAction, compileAction, jsonEqual } from "./actions.ts";
import { type CompiledPattern, compilePattern, PatternIndex, RulesError } from "./patterns.ts";
import { RULE_ID_PATTERN, type Rule, RuleAction, RulesFile, type RuleTrigger } from "./schema.ts";

export type { ActionOutcome, CompiledAction } from "./actions.ts";
export { compileAction } from "./actions.ts";
export type { TextPattern } from "./patterns.ts";
export { compilePattern, RULE_LIMITS, RulesError } from "./patterns.ts";

/** The message a rule looks at: where it was sent and what it says (provider-shaped content, read by a codec). */
export interface RuleSubject {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly kind: Kind;
  readonly conversation: string;
  readonly sender?: string;
  readonly content: Content;
}

export interface CompiledRule {
  readonly id: string;
  readonly on: RuleTrigger;
  /** Its position in the file. */
  readonly index: number;
  /** The rule as parsed (defaults applied). */
  readonly rule: Rule;
  /** Whether every condition of `match` holds for the subject (an empty `match` always holds). */
  matches(subject: RuleSubject, codec: ContentCodec): boolean;
  readonly action: CompiledAction;
}

export interface EvaluateOptions {
  /** For all rules together; once spent, the rest are not tried (`timedOut`). */
  readonly budgetMs: number;
  /** Rules never to apply: those that already made a version of this message. */
  readonly exclude?: ReadonlySet<string>;
  readonly now?: () => number;
}

export interface Evaluation {
  /** Each change, in order: the whole content after that rule. */
  readonly steps: { ruleId: string; content: Content }[];
  /** Rules that matched but could not act (`not_json`: custom data that is not a JSON object). */
  readonly skipped: { ruleId: string; reason: string }[];
  readonly timedOut: boolean;
}

/**
 * The content's text and custom data, read once per content rather than once per rule: most rules
 * test the same text. Reset whenever a step changes the content.
 */
class ContentView {
  #text: string | undefined;
  #data: Record<string, unknown> | undefined | null = null;
  constructor(
    readonly content: Content,
    private readonly codec: ContentCodec,
  ) {}
  get text(): string {
    if (this.#text === undefined) this.#text = this.codec.text(this.content);
    return this.#text;
  }
  get customData(): Record<string, unknown> | undefined {
    if (this.#data === null) this.#data = this.codec.customData(this.content);
    return this.#data;
  }
  #hits: Uint8Array | undefined;
  /** Which of the index's patterns match the text: one pass for all of them, on first need. */
  hits(index: PatternIndex): Uint8Array {
    if (this.#hits === undefined) this.#hits = index.matching(this.text);
    return this.#hits;
  }
}

/** A rule list's text patterns as one index; `slots[i]` is rule i's position in it, or -1 (no text condition). */
interface Prefilter {
  readonly index: PatternIndex;
  readonly slots: Int32Array;
}

/** The prefilters of the lists a RuleSet hands out (`on(trigger)`), found by identity in `evaluate`. */
const PREFILTERS = new WeakMap<readonly CompiledRule[], Prefilter>();

function prefilter(rules: readonly RuleProgram[]): void {
  const patterns: CompiledPattern[] = [];
  const slots = new Int32Array(rules.length).fill(-1);
  for (const [i, rule] of rules.entries()) {
    if (rule.textPattern === undefined) continue;
    slots[i] = patterns.length;
    patterns.push(rule.textPattern);
  }
  if (patterns.length > 1) PREFILTERS.set(rules, { index: new PatternIndex(patterns), slots });
}

class RuleProgram implements CompiledRule {
  readonly id: string;
  readonly on: RuleTrigger;
  readonly action: CompiledAction;
  readonly #kinds: ReadonlySet<Kind> | undefined;
  readonly textPattern: CompiledPattern | undefined;
  readonly #customData: readonly (readonly [string, unknown])[] | undefined;

  constructor(
    readonly rule: Rule,
    readonly index: number,
  ) {
    this.id = rule.id;
    this.on = rule.on;
    this.action = compileAction(rule.action);
    this.#kinds = rule.match.kind === undefined ? undefined : new Set(rule.match.kind);
    this.textPattern = rule.match.text === undefined ? undefined : compilePattern(rule.match.text);
    this.#customData =
      rule.match.customData === undefined ? undefined : Object.entries(rule.match.customData);
  }

  matches(subject: RuleSubject, codec: ContentCodec): boolean {
    return this.matchesView(subject, new ContentView(subject.content, codec));
  }

  matchesView(subject: RuleSubject, view: ContentView): boolean {
    return (
      this.matchesFacts(subject, view) && (this.textPattern === undefined || this.textPattern.test(view.text))
    );
  }

  /** Every condition but the text pattern: cheap ones, checked before any pattern runs. */
  matchesFacts(subject: RuleSubject, view: ContentView): boolean {
    const match = this.rule.match;
    if (match.provider !== undefined && match.provider !== subject.provider) return false;
    if (match.appId !== undefined && match.appId !== subject.appId) return false;
    if (this.#kinds !== undefined && !this.#kinds.has(subject.kind)) return false;
    if (match.conversation !== undefined && match.conversation !== subject.conversation) return false;
    if (match.sender !== undefined && match.sender !== subject.sender) return false;
    if (this.#customData !== undefined) {
      const data = view.customData;
      if (data === undefined) return false;
      for (const [key, value] of this.#customData) {
        if (!Object.hasOwn(data, key) || !jsonEqual(data[key], value)) return false;
      }
    }
    return true;
  }
}

/** A validated, compiled rules file: everything a callback needs is built here, once. */
export class RuleSet {
  static readonly EMPTY: RuleSet = new RuleSet([]);

  readonly #byId: ReadonlyMap<string, CompiledRule>;
  readonly #byTrigger: ReadonlyMap<RuleTrigger, readonly CompiledRule[]>;

  private constructor(readonly rules: readonly RuleProgram[]) {
    this.#byId = new Map(rules.map((rule) => [rule.id, rule]));
    this.#byTrigger = new Map(
      (["after-send", "before-send"] as const).map((on) => {
        const list = rules.filter((rule) => rule.on === on);
        prefilter(list);
        return [on, list];
      }),
    );
  }

  /**
   * Validates and compiles a parsed rules file. Throws RulesError naming the file (`origin`), the rule
   * by id and index (by index alone when its id is missing or invalid), the field path and the reason.
   */
  static parse(input: unknown, origin?: string): RuleSet {
    const prefix = origin === undefined ? "rules: " : `rules file ${origin}: `;
    const result = z.safeParse(RulesFile, input);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => describe(input, issue.path, issue.message));
      throw new RulesError(prefix + summarize(problems.map((problem) => problem.text)), {
        details: problems.map(({ text: _text, ...problem }) => problem),
      });
    }
    const rules = result.data.rules;
    const seen = new Map<string, number>();
    const duplicates: Problem[] = [];
    for (const [index, rule] of rules.entries()) {
      const first = seen.get(rule.id);
      if (first === undefined) seen.set(rule.id, index);
      else
        duplicates.push(
          describe(input, ["rules", index, "id"], `duplicates the id of the rule at index ${first}`),
        );
    }
    if (duplicates.length > 0) {
      throw new RulesError(prefix + summarize(duplicates.map((problem) => problem.text)), {
        details: duplicates.map(({ text: _text, ...problem }) => problem),
      });
    }
    return new RuleSet(
      rules.map((rule, index) => {
        try {
          return new RuleProgram(rule, index);
        } catch (thrown: unknown) {
          // The schema compiled every pattern already; this only guards against the two drifting apart.
          const reason = thrown instanceof Error ? thrown.message : String(thrown);
          throw new RulesError(prefix + describe(input, ["rules", index, "action"], reason).text);
        }
      }),
    );
  }

  get(id: string): CompiledRule | undefined {
    return this.#byId.get(id);
  }

  on(trigger: RuleTrigger): readonly CompiledRule[] {
    return this.#byTrigger.get(trigger) ?? [];
  }
}

/**
 * Runs rules in order on one message, each at most once, each matching against the content the earlier
 * steps left. A rule in `exclude` never runs, and an action that changes nothing makes no step, so
 * feeding the result back (with the applied ids excluded) cannot loop.
 */
export function evaluate(
  rules: readonly CompiledRule[],
  subject: RuleSubject,
  codec: ContentCodec,
  options: EvaluateOptions,
): Evaluation {
  const now = options.now ?? performance.now.bind(performance);
  const steps: { ruleId: string; content: Content }[] = [];
  const skipped: { ruleId: string; reason: string }[] = [];
  if (rules.length === 0) return { steps, skipped, timedOut: false };
  const started = now();
  const filter = PREFILTERS.get(rules);
  let view = new ContentView(subject.content, codec);
  let current = subject;
  let acted = false;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule === undefined || options.exclude?.has(rule.id)) continue;
    // Reading the clock costs more than a rule's cheap conditions (half the time of 100 rules that do not
    // match): it is read every 8 rules, and before the next rule after any rule that acted.
    if ((acted || (i & 7) === 0) && now() - started > options.budgetMs)
      return { steps, skipped, timedOut: true };
    acted = false;
    if (!(rule instanceof RuleProgram)) {
      if (!rule.matches(current, codec)) continue;
    } else {
      if (!rule.matchesFacts(current, view)) continue;
      const slot = filter?.slots[i] ?? -1;
      if (slot !== -1 && filter !== undefined) {
        // All the list's patterns in one pass over this content's text, done once per content.
        if (view.hits(filter.index)[slot] !== 1) continue;
      } else if (rule.textPattern !== undefined && !rule.textPattern.test(view.text)) continue;
    }
    const outcome = rule.action.apply(view.content, codec);
    acted = true;
    if (outcome.kind === "changed") {
      steps.push({ ruleId: rule.id, content: outcome.content });
      current = { ...current, content: outcome.content };
      view = new ContentView(outcome.content, codec);
    } else if (outcome.kind === "skipped") {
      skipped.push({ ruleId: rule.id, reason: outcome.reason });
    }
  }
  return { steps, skipped, timedOut: false };
}

/**
 * Validates an action given on its own (a bulk job's `action`): throws RulesError naming the field and
 * the reason (`action.redact.pattern: pattern is not valid: …`), with the problems as `details`.
 */
export function parseAction(input: unknown): RuleAction {
  const result = z.safeParse(RuleAction, input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = dotted(["action", ...issue.path]);
    return { text: `${path}: ${issue.message}`, path, reason: issue.message };
  });
  throw new RulesError(summarize(problems.map((problem) => problem.text)), {
    details: problems.map(({ text: _text, ...problem }) => problem),
  });
}

interface Problem {
  readonly text: string;
  readonly index?: number;
  readonly ruleId?: string;
  readonly path: string;
  readonly reason: string;
}

/** One problem as a line: `rule "redact-phone" (index 0): match.text: pattern is not valid: …`. */
function describe(input: unknown, path: readonly PropertyKey[], reason: string): Problem {
  if (path[0] === "rules" && typeof path[1] === "number") {
    const index = path[1];
    const field = dotted(path.slice(2));
    const id = ruleIdAt(input, index);
    const who = id === undefined ? `rule at index ${index}` : `rule "${id}" (index ${index})`;
    const text = `${who}: ${field === "" ? "" : `${field}: `}${reason}`;
    return { text, index, ...(id === undefined ? {} : { ruleId: id }), path: field, reason };
  }
  const field = dotted(path);
  return { text: field === "" ? reason : `${field}: ${reason}`, path: field, reason };
}

function ruleIdAt(input: unknown, index: number): string | undefined {
  if (input === null || typeof input !== "object") return undefined;
  const rules: unknown = (input as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) return undefined;
  const rule: unknown = rules[index];
  if (rule === null || typeof rule !== "object") return undefined;
  const id: unknown = (rule as { id?: unknown }).id;
  return typeof id === "string" && RULE_ID_PATTERN.test(id) ? id : undefined;
}

/** `match.kind[1]`, `action.mergeCustomData["a b"]`. */
function dotted(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

const SHOWN = 10;

/** The first problems, one per line, and how many more there are. */
function summarize(lines: readonly string[]): string {
  const shown = lines.slice(0, SHOWN).join("\n  ");
  return lines.length > SHOWN ? `${shown}\n  … and ${lines.length - SHOWN} more` : shown;
}
