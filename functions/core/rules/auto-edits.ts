import type { ContentCodec } from "../codec.ts";
import type { EditOptions } from "../edit-protocol.ts";
import type { EditResult } from "../edit-settlement.ts";
import { asError, ConflictError, NotFoundError } from "../errors.ts";
import { inBackground } from "../limiter.ts";
import { type Content, isEditable, type Kind, type MessageHead, type ProviderName } from "../model.ts";
import type { MessageStore } from "../store.ts";
import { RECENT_DEPTH } from "../versions.ts";
import type { WorkQueue } from "../work.ts";
import { type CompiledRule, evaluate, type RuleSubject } from "./engine.ts";
import type { RulesHolder } from "./hook.ts";

/** The work-queue action (and invoke/SQS operation) that runs the after-send rules on one message. */
export const APPLY_RULES = "applyRules";

/** A message the recorder just recorded as sent by the provider (version 1 from its after-send or copy). */
export interface RecordedSend {
  readonly id: string;
  readonly provider: ProviderName;
  readonly appId: string;
  readonly kind: Kind;
  readonly conversation: string;
  readonly sender?: string;
  readonly content: Content;
}

/** Where the after-send rules report what they skip or lose (the wiring logs and counts it). */
export interface AutoEditsObserver {
  /** The task could not be queued: the message keeps its content (`RuleEnqueueFailed`). */
  enqueueFailed?(id: string, error: Error): void;
  /** A matching rule did not edit (`not_editable`, `too_old`, `not_found`, `not_json`, ...). */
  skipped?(id: string, ruleId: string | undefined, reason: string): void;
  applied?(id: string, ruleId: string, version: number): void;
}

export interface AfterSendTriggerOptions {
  readonly rules: RulesHolder;
  readonly codecOf: (provider: ProviderName) => ContentCodec | undefined;
  readonly work: WorkQueue;
  readonly observer?: AutoEditsObserver;
}

/**
 * The callback side of the after-send rules: a message just recorded is matched against them (the content
 * is at hand, no read), and only one some rule matches costs a queued task. The callback waits for the
 * enqueue alone (in-process the task runs on a later turn; in AWS it is one SQS send), and a failure to
 * enqueue is reported, never a failed callback.
 */
/** What matching may take on the callback path, all rules together (Tencent waits 2 s for the answer). */
const TRIGGER_BUDGET_MS = 50;

export class AfterSendTrigger {
  constructor(private readonly options: AfterSendTriggerOptions) {}

  /** True when a task was queued. Never throws. */
  async recorded(message: RecordedSend): Promise<boolean> {
    try {
      const rules = this.options.rules.current().on("after-send");
      if (rules.length === 0) return false;
      const codec = this.options.codecOf(message.provider);
      if (!codec) return false;
      const subject = subjectOf(message, message.content);
      // One pass of every text pattern (the rule list's index), and a task only when a rule would act.
      const { steps, skipped } = evaluate(rules, subject, codec, { budgetMs: TRIGGER_BUDGET_MS });
      if (steps.length === 0 && skipped.length === 0) return false;
      await this.options.work.enqueue({ action: APPLY_RULES, target: { id: message.id } });
      return true;
    } catch (thrown: unknown) {
      this.options.observer?.enqueueFailed?.(message.id, asError(thrown));
      return false;
    }
  }
}

export interface ApplyRulesDeps {
  readonly rules: RulesHolder;
  readonly codecOf: (provider: ProviderName) => ContentCodec | undefined;
  readonly store: Pick<MessageStore, "getHead" | "recentVersions">;
  readonly edits: {
    apply(
      id: string,
      target: (head: MessageHead) => Content | undefined,
      options: EditOptions,
    ): Promise<EditResult>;
  };
  readonly observer?: AutoEditsObserver;
}

export interface ApplyRulesOutcome {
  readonly id: string;
  /** The rules that edited the message, with the version each wrote. */
  readonly applied: readonly { readonly ruleId: string; readonly version: number }[];
  readonly skipped: readonly { readonly ruleId?: string; readonly reason: string }[];
}

/**
 * The queue side (action `applyRules`): the after-send rules on one recorded message, in file order. A
 * rule applies at most once per message: one whose id is on a recent version is skipped, so a task delivered twice edits once. Each matching rule is one edit through the edit
 * protocol (`source: "auto"`, its `ruleId`, actor `rule:<id>`) at background priority, computed from the
 * content as it is when the edit runs (after the previous rule's edit). Our own edits' echoes never
 * queue rules again (the recorder recognizes them), so a result that still matches does not loop.
 *
 * A message that cannot be edited (recalled, failed, too old, gone) is skipped and reported; other
 * failures (the provider busy or unavailable, an unknown outcome) throw, so the queue delivers the task
 * again and the rules not yet applied run then.
 */
export async function applyRules(deps: ApplyRulesDeps, id: string): Promise<ApplyRulesOutcome> {
  const applied: { ruleId: string; version: number }[] = [];
  const skipped: { ruleId?: string; reason: string }[] = [];
  const skip = (ruleId: string | undefined, reason: string) => {
    skipped.push({ ...(ruleId !== undefined ? { ruleId } : {}), reason });
    deps.observer?.skipped?.(id, ruleId, reason);
  };
  const rules = deps.rules.current().on("after-send");
  let head = rules.length > 0 ? await deps.store.getHead(id) : undefined;
  if (rules.length === 0) return { id, applied, skipped };
  if (!head) {
    skip(undefined, "not_found");
    return { id, applied, skipped };
  }
  const codec = deps.codecOf(head.provider);
  if (!codec) {
    skip(undefined, "no_codec");
    return { id, applied, skipped };
  }
  const done = await appliedRules(deps.store, head);
  for (const rule of rules) {
    if (done.has(rule.id)) continue;
    if (!isEditable(head)) {
      skip(rule.id, head.state !== "sent" ? head.state : "not_editable");
      break;
    }
    if (!rule.matches(subjectOf(head, head.content ?? {}), codec)) continue;
    const first = rule.action.apply(head.content ?? {}, codec);
    if (first.kind === "skipped") {
      skip(rule.id, first.reason);
      continue;
    }
    if (first.kind === "unchanged") continue;
    let result: EditResult;
    try {
      result = await inBackground(undefined, () =>
        deps.edits.apply(id, (current) => wanted(rule, current, codec), {
          source: "auto",
          ruleId: rule.id,
          actor: `rule:${rule.id}`,
        }),
      );
    } catch (thrown: unknown) {
      const reason = notEditable(thrown);
      if (reason === undefined) throw thrown;
      skip(rule.id, reason);
      break;
    }
    done.add(rule.id);
    if (result.version) {
      applied.push({ ruleId: rule.id, version: result.version.version });
      deps.observer?.applied?.(id, rule.id, result.version.version);
    }
    // The next rule sees the message as this edit left it.
    head = (await deps.store.getHead(id)) ?? result.head;
  }
  return { id, applied, skipped };
}

/**
 * What the rule makes of the message as the edit finds it (after waiting for a busy one): nothing when
 * it no longer matches, or when the edit just settled on it is this rule's own (a task delivered twice
 * at once: the second waited for the first's lease).
 */
function wanted(rule: CompiledRule, head: MessageHead, codec: ContentCodec): Content | undefined {
  if (head.intent?.ruleId === rule.id) return undefined;
  const content = head.content ?? {};
  if (!rule.matches(subjectOf(head, content), codec)) return undefined;
  const outcome = rule.action.apply(content, codec);
  return outcome.kind === "changed" ? outcome.content : undefined;
}

/** The rules already applied to the message: on its recent versions (version 1 is in the head). */
async function appliedRules(
  store: Pick<MessageStore, "recentVersions">,
  head: MessageHead,
): Promise<Set<string>> {
  const done = new Set<string>();
  const versions =
    head.version <= 1 ? (head.first ? [head.first] : []) : await store.recentVersions(head.id, RECENT_DEPTH);
  for (const version of versions) if (version.ruleId !== undefined) done.add(version.ruleId);
  return done;
}

/** Why an edit cannot be made at all (the task is done with), or undefined for a failure worth retrying. */
function notEditable(thrown: unknown): string | undefined {
  if (thrown instanceof NotFoundError) return "not_found";
  if (thrown instanceof ConflictError && (thrown.code === "not_editable" || thrown.code === "too_old"))
    return thrown.code;
  return undefined;
}

function subjectOf(
  message: Pick<MessageHead, "provider" | "appId" | "kind" | "conversation" | "sender">,
  content: Content,
): RuleSubject {
  return {
    provider: message.provider,
    appId: message.appId,
    kind: message.kind,
    conversation: message.conversation,
    ...(message.sender !== undefined ? { sender: message.sender } : {}),
    content,
  };
}
