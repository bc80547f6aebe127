import { describe, domainEvents, newlySent, recordedId, withDecision } from "./callback-outcomes.ts";
import { ALLOW, type Decided, type DecideHook, decide, type HookSkip } from "./decide.ts";
import type { DurableOutcome, DurableRecorder, SpooledCallback } from "./durable.ts";
import { asError } from "./errors.ts";
import { forwardOf } from "./forwarding.ts";
import type { ObservedMessage, ProviderName } from "./model.ts";
import { type DomainEvent, type Outbox, publishQuietly } from "./outbox.ts";
import type { CallbackProvider, CallbackReply, CallbackRequest } from "./provider.ts";
import { type Applied, type ApplyOutcome, eventMessageId, type RecorderEvent } from "./recorder-events.ts";
import type { CallbackRelay, ForwardQueue } from "./relay.ts";
import { APP_HOOK_NAME, type AppRelay } from "./relay-hook.ts";
import type { RecordedSend } from "./rules/auto-edits.ts";

/**
 * What a callback's one log line says, filled in stage by stage (so a stage that throws still leaves
 * what came before): never the body, the query string or a header.
 */
export interface CallbackTrace {
  provider?: string;
  /** Tencent's `CallbackCommand`, as the query string names it (before verification: capped). */
  command?: string;
  /** `type:messageId` of each event the callback carried, then `:outcome` once applied (created, updated,
   * duplicate, unmatched): one field, since the line is paid for by the byte on every callback. */
  events?: string[];
  /** A before-send's decision, and the hooks that made it (`block:app-relay`, `rewrite:rule-a+rule-b`). */
  decision?: string;
  outcome?: "stored" | "spooled" | "ignored";
}

/** The domain outcome of one callback, and the provider's answer to it. */
export interface CallbackOutcome {
  readonly events: readonly RecorderEvent[];
  /** Present for a before-send callback: what *decide* answered. */
  readonly decided?: Decided;
  readonly outcome: "stored" | "spooled" | "ignored";
  readonly applied?: readonly ApplyOutcome[];
  readonly published: readonly DomainEvent[];
  readonly reply: CallbackReply;
}

/** Where the pipeline reports what it skips or loses (the wiring logs and counts it). */
export interface CallbackObserver {
  /** A hook threw, answered nothing usable or ran out of budget: skipped (`DecideHookSkipped`). */
  hookSkipped?(hook: string, reason: HookSkip, error: Error): void;
  /** The provider cannot render the decision (e.g. an invalid rewrite): the message is allowed as sent. */
  replyFailed?(decision: string, error: Error): void;
  /** Events that could not be published (`PublishFailed`): at most once, nothing retries them. */
  publishFailed?(error: Error, events: readonly DomainEvent[]): void;
  /** A forward that could not be queued (`ForwardLost`): the app never gets this callback from im-edit. */
  forwardLost?(provider: ProviderName, error: Error): void;
  /** A verified callback im-edit could not read, forwarded to the app all the same (the relay is transparent). */
  unread?(provider: ProviderName, error: Error): void;
}

/**
 * The relay (issue 16), when a provider forwards its callbacks to the app's own handler (`provider.relay`).
 * A synchronous callback (a before-send) is the `app` decide hook's; every other verified callback is
 * queued for the app once recorded (or spooled, or ignored), before the provider gets its answer.
 */
export interface PipelineRelay {
  /** The asynchronous forwards (at least once); none: each forward is lost (reported). */
  readonly queue?: ForwardQueue;
  /** A synchronous callback im-edit could not read: the app's validated answer, or the fallback policy. */
  readonly answer?: AppRelay["answer"];
  /**
   * A before-send's answer is due this long after it arrived (Tencent waits 2 s): the store gets what is
   * left once the hooks have answered, at most its own budget, then the callback is spooled.
   */
  readonly beforeSendDeadlineMs?: number;
}

export interface CallbackPipelineOptions {
  readonly durable: DurableRecorder;
  readonly outbox?: Outbox;
  /** Before-send hooks, in order (none by default: rules and the relay register theirs). */
  readonly hooks?: readonly DecideHook[];
  /** All hooks of one callback together (Tencent waits 2 s for the answer, the store needs its share). */
  readonly decideBudgetMs?: number;
  readonly observer?: CallbackObserver;
  readonly now?: () => number;
  /**
   * After-send rules: told of each message recorded as newly sent by the provider (version 1 from its
   * after-send or first copy), with its content; it queues the rules' work when one matches. Never
   * told of before-send rewrites (their rules ran already), client edits, echoes or duplicates. Never
   * throws (AfterSendTrigger reports what it cannot queue).
   */
  readonly afterSend?: { recorded(message: RecordedSend): Promise<unknown> };
  /** The relay to the apps' own handlers; without it nothing is forwarded. */
  readonly relay?: PipelineRelay;
}

/** Hooks get at most this long together unless configured: Tencent's 2 s less the store's budget. */
export const DEFAULT_DECIDE_BUDGET_MS = 600;

/**
 * With the relay, when a before-send's answer is due after it arrived: inside Tencent's 2 s, with room for
 * the answer's way back. The app's budget and the rules' come first; the store gets what is left.
 */
export const BEFORE_SEND_DEADLINE_MS = 1800;

/**
 * The callback path as explicit stages: **verify** (raw bytes, before parsing) → **interpret** (the
 * provider's schema and identities) → **decide** (budgeted hooks, before-send callbacks only) →
 * **record** (the durable recorder: the store within its budget, else the spool) → **publish** (domain
 * events through the outbox) → the provider's reply, rendered from the decision. No transport here: the
 * handler routes, reads the body and writes the log line.
 *
 * A before-send a hook refused or dropped is recorded as failed (content kept, `sendError` the refusal):
 * the provider sends no after-send for it. A rewritten one is recorded pending with the sender's content
 * and the rewrite steps beside it (`MessageHead.rewrite`); its after-send turns them into history: the
 * sender's original as version 1 (`callback`), each step as the next version (`auto` + `ruleId` for a
 * rule), and the after-send's own content last when the provider changed it again, so the record shows
 * what was delivered and history shows what was typed.
 */
export class CallbackPipeline {
  private readonly hooks: readonly DecideHook[];

  constructor(private readonly options: CallbackPipelineOptions) {
    this.hooks = options.hooks ?? [];
  }

  async handle(
    provider: CallbackProvider,
    request: CallbackRequest,
    trace: CallbackTrace = {},
  ): Promise<CallbackOutcome> {
    trace.provider = provider.name;
    provider.verify(request);
    // Only what passed verification is forwarded; a synchronous callback is answered by the app's hook.
    const relay = this.options.relay ? provider.relay : undefined;
    const synchronous = relay?.synchronous(request) ?? false;
    let events: RecorderEvent[];
    try {
      events = provider.interpret(request);
    } catch (thrown: unknown) {
      if (!relay) throw thrown;
      // The relay stays transparent: what im-edit cannot read, the app still gets (and a before-send
      // is answered with the app's own decision, below).
      this.options.observer?.unread?.(provider.name, asError(thrown));
      if (!synchronous) {
        await this.forward(provider, relay, request);
        throw thrown;
      }
      events = [];
    }
    trace.events = events.map((e) => `${e.type}:${eventMessageId(e)}`);

    // A before-send is the one callback whose answer decides the message: interpret says so with `pending`.
    const pending = events.find((e) => e.type === "pending");
    let decided: Decided | undefined;
    let reply: CallbackReply;
    if (pending) {
      decided = await this.decide(provider, request, pending);
      const rendered = this.render(provider, decided, pending.message);
      if (rendered === undefined) decided = { decision: ALLOW, by: [] };
      reply = rendered ?? provider.reply(ALLOW, pending.message);
      trace.decision = describe(decided);
      events = events.map((e) => (e === pending ? withDecision(pending, decided as Decided) : e));
    } else if (relay && synchronous) {
      // A before-send im-edit does not read (a live group it skips, a body it cannot parse): the app's own
      // answer, validated, rendered for the callback itself.
      decided = await this.answerUnread(provider, relay, request);
      reply = this.render(provider, decided, undefined, request) ?? provider.reply(ALLOW, undefined, request);
      trace.decision = describe(decided);
    } else {
      reply = provider.reply(ALLOW);
    }
    const forwarded = relay && !synchronous ? relay : undefined;

    if (events.length === 0) {
      trace.outcome = "ignored";
      if (forwarded) await this.forward(provider, forwarded, request);
      return { events, ...(decided ? { decided } : {}), outcome: "ignored", published: [], reply };
    }
    let recorded: DurableOutcome;
    try {
      recorded = await this.options.durable.record(
        provider.name,
        request.receivedAt,
        events,
        pending ? this.storeBudget(request) : undefined,
      );
    } catch (thrown: unknown) {
      // Neither stored nor spooled (the provider gets an error): the app still gets the callback.
      if (forwarded) await this.forward(provider, forwarded, request);
      throw thrown;
    }
    // Queued once recorded and before the answer; alongside publish and the after-send rules, which need
    // neither it nor each other (none of the three throws).
    const forwarding = forwarded
      ? this.forward(provider, forwarded, request, recordedId(events, recorded))
      : undefined;
    if (!("stored" in recorded)) {
      await forwarding;
      // Published when the spool is replayed (`replay`): nothing is recorded yet.
      trace.outcome = "spooled";
      return { events, ...(decided ? { decided } : {}), outcome: "spooled", published: [], reply };
    }
    trace.outcome = "stored";
    trace.events = trace.events?.map((event, i) => `${event}:${recorded.stored[i] ?? "?"}`);
    const [published] = await Promise.all([
      this.publish(provider.name, provider.appId, recorded.applied),
      this.triggerRules(events, recorded.applied),
      forwarding,
    ]);
    return {
      events,
      ...(decided ? { decided } : {}),
      outcome: "stored",
      applied: recorded.stored,
      published,
      reply,
    };
  }

  /** A spooled callback, applied now (idempotently), and its events published. */
  async replay(entry: SpooledCallback): Promise<readonly ApplyOutcome[]> {
    const applied = await this.options.durable.replayApplied(entry);
    const first = entry.events.find((e) => e.type !== "recalled" || e.message);
    const message = first && "message" in first ? first.message : undefined;
    if (message) await this.publish(message.provider, message.appId, applied);
    await this.triggerRules(entry.events, applied);
    return applied.map((a) => a.outcome);
  }

  /** Queues the after-send rules' work for each message newly recorded as sent (see `afterSend`). */
  private async triggerRules(events: readonly RecorderEvent[], applied: readonly Applied[]): Promise<void> {
    const afterSend = this.options.afterSend;
    if (!afterSend) return;
    const sends = events.flatMap((event, i) => {
      const send = newlySent(event, applied[i]);
      return send ? [send] : [];
    });
    await Promise.all(sends.map((send) => afterSend.recorded(send)));
  }

  private async decide(
    provider: CallbackProvider,
    request: CallbackRequest,
    pending: Extract<RecorderEvent, { type: "pending" }>,
  ): Promise<Decided> {
    if (this.hooks.length === 0) return { decision: ALLOW, by: [] };
    const command = request.query.CallbackCommand;
    return decide(
      this.hooks,
      {
        provider: provider.name,
        appId: provider.appId,
        ...(command !== undefined ? { command } : {}),
        message: pending.message,
        original: pending.content,
        request,
      },
      {
        budgetMs: this.options.decideBudgetMs ?? DEFAULT_DECIDE_BUDGET_MS,
        ...(this.options.now ? { now: this.options.now } : {}),
        onSkip: (hook, reason, error) => this.options.observer?.hookSkipped?.(hook, reason, error),
      },
    );
  }

  /** A synchronous callback without a message im-edit could read: the app's answer, or the fallback. */
  private async answerUnread(
    provider: CallbackProvider,
    relay: CallbackRelay,
    request: CallbackRequest,
  ): Promise<Decided> {
    const answer = this.options.relay?.answer;
    if (!answer) return { decision: ALLOW, by: [] };
    const decision = await answer(provider.name, relay, request);
    return decision.action === "allow" ? { decision, by: [] } : { decision, by: [APP_HOOK_NAME] };
  }

  /**
   * Queues the callback for the app's handler, naming the message it recorded, if any. Never fails the
   * callback: a forward that cannot be queued is reported (`ForwardLost`) and the provider answered as usual.
   */
  private async forward(
    provider: CallbackProvider,
    relay: CallbackRelay,
    request: CallbackRequest,
    messageId?: string,
  ): Promise<void> {
    const options = this.options.relay;
    if (!options) return;
    try {
      if (!options.queue) throw new Error("no forward queue is configured");
      await options.queue.enqueue(forwardOf(request, provider.name, relay, messageId));
    } catch (thrown: unknown) {
      this.options.observer?.forwardLost?.(provider.name, asError(thrown));
    }
  }

  /** A before-send's store budget: what is left of its deadline (with the relay), at most the store's own. */
  private storeBudget(request: CallbackRequest): number | undefined {
    const deadlineMs = this.options.relay?.beforeSendDeadlineMs;
    if (deadlineMs === undefined) return undefined;
    const elapsed = (this.options.now ?? Date.now)() - request.receivedAt.getTime();
    return Math.max(0, deadlineMs - elapsed);
  }

  /** The provider's answer; undefined when it cannot render the decision (then the message is allowed). */
  private render(
    provider: CallbackProvider,
    decided: Decided,
    message: ObservedMessage | undefined,
    request?: CallbackRequest,
  ): CallbackReply | undefined {
    try {
      return provider.reply(decided.decision, message, request);
    } catch (thrown: unknown) {
      this.options.observer?.replyFailed?.(describe(decided), asError(thrown));
      return undefined;
    }
  }

  private async publish(
    provider: ProviderName,
    appId: string,
    applied: readonly Applied[],
  ): Promise<DomainEvent[]> {
    const events = domainEvents(provider, appId, applied);
    await publishQuietly(this.options.outbox, events, (error, lost) =>
      this.options.observer?.publishFailed?.(error, lost),
    );
    return events;
  }
}
