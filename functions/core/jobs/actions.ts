import type { ContentCodec } from "../codec.ts";
import { BadRequestError } from "../errors.ts";
import { type Content, contentHash, type Kind, type MessageHead, type ProviderName } from "../model.ts";
import type { ProviderEditor } from "../provider.ts";
import type { JobWork } from "./model.ts";
import type { TextPattern } from "./selector.ts";

/** What a rule sees of a message (the rules engine's RuleSubject). */
export interface JobRuleSubject {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly kind: Kind;
  readonly conversation: string;
  readonly sender?: string;
  readonly content: Content;
}

export type JobActionOutcome =
  | { readonly kind: "changed"; readonly content: Content }
  | { readonly kind: "unchanged" }
  | { readonly kind: "skipped"; readonly reason: string };

/** A rule action, compiled (the rules engine's CompiledAction). */
export interface JobCompiledAction {
  apply(content: Content, codec: ContentCodec): JobActionOutcome;
}

/**
 * What jobs need of the rules engine, through a port so the job code stays independent of how rules are
 * loaded and reloaded: the loaded rule by id, and the compilers of actions and patterns (each throws a
 * BadRequestError naming the problem).
 */
export interface JobRules {
  rule(id: string):
    | {
        matches(subject: JobRuleSubject, codec: ContentCodec): boolean;
        readonly action: JobCompiledAction;
      }
    | undefined;
  compileAction(action: unknown): JobCompiledAction;
  compilePattern(source: string): TextPattern;
}

/** The content a message should have after the job's work, or why it needs no change. */
export type TargetOutcome =
  | { readonly kind: "changed"; readonly content: Content }
  | { readonly kind: "unchanged" }
  | { readonly kind: "skipped"; readonly reason: string };

/** A job's work compiled for one provider: how its versions are labelled, its filter, its target content. */
export interface CompiledWork {
  readonly source: "api" | "auto";
  readonly ruleId?: string;
  /** The work's own condition beyond the selector (a rule's `match`). */
  readonly matches?: (head: MessageHead) => boolean;
  target(head: MessageHead): TargetOutcome;
}

/**
 * Compiles `work` (exactly one of an edit body, a rule id, a rule action). Throws BadRequestError (an
 * unknown rule, a bad action) or the editor's own 400/422 for an edit body it refuses: at creation, that
 * is the answer to the request, before any job exists.
 */
export function compileWork(
  work: JobWork,
  editor: ProviderEditor,
  codec: ContentCodec,
  rules: JobRules,
): CompiledWork {
  if ("edit" in work) {
    const change = editor.parseChange(work.edit);
    return {
      source: "api",
      target: (head) => changed(head, editor.plan(head, change).content),
    };
  }
  if ("rule" in work) {
    const rule = rules.rule(work.rule);
    if (!rule) {
      throw new BadRequestError(`no rule ${JSON.stringify(work.rule)} is loaded`, {
        code: "unknown_rule",
        details: { rule: work.rule },
      });
    }
    return {
      source: "auto",
      ruleId: work.rule,
      matches: (head) => rule.matches(subjectOf(head), codec),
      target: (head) => outcome(head, rule.action.apply(head.content ?? {}, codec)),
    };
  }
  const action = rules.compileAction(work.action);
  return { source: "auto", target: (head) => outcome(head, action.apply(head.content ?? {}, codec)) };
}

export function subjectOf(head: MessageHead): JobRuleSubject {
  return {
    provider: head.provider,
    appId: head.appId,
    kind: head.kind,
    conversation: head.conversation,
    ...(head.sender !== undefined ? { sender: head.sender } : {}),
    content: head.content ?? {},
  };
}

function outcome(head: MessageHead, result: JobActionOutcome): TargetOutcome {
  return result.kind === "changed" ? changed(head, result.content) : result;
}

/** An action that "changes" the content into what it already is changes nothing. */
function changed(head: MessageHead, content: Content): TargetOutcome {
  return contentHash(content) === head.contentHash ? { kind: "unchanged" } : { kind: "changed", content };
}
