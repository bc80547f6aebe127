import type { Decision } from "./decide.ts";
import type { Content, MessageHead, ObservedMessage, ProviderName } from "./model.ts";
import type { RecorderEvent } from "./recorder-events.ts";
import type { CallbackRelay } from "./relay.ts";

/** A provider callback as raw bytes plus its query and headers: verification comes before parsing. */
export interface CallbackRequest {
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly receivedAt: Date;
  /** The query string exactly as received, without `?` (the relay forwards it; `query` is decoded). */
  readonly rawQuery?: string;
  /** The provider's address as the transport saw it (the relay's `X-Forwarded-For`). */
  readonly sourceIp?: string;
}

export interface CallbackReply {
  readonly status: number;
  readonly body: unknown;
}

/**
 * A natural-key lookup. A whole key names the message id (one read, no index); a partial one is searched
 * by its index entry, narrowed by what the key tells (sender, send time), then checked by `matches`.
 */
export interface KeyLookup {
  readonly id?: string;
  readonly lookupKey: string;
  readonly matches: (head: MessageHead) => boolean;
  readonly sender?: string;
  readonly sentBetween?: readonly [string, string];
}

/**
 * Everything provider-specific about receiving callbacks. A provider is one folder with a manifest
 * (providers/manifest.ts) that builds this, registered once per function bundle (recorder-providers.ts,
 * editor-providers.ts); the handlers and the core never branch on the provider.
 */
export interface CallbackProvider {
  readonly name: ProviderName;
  readonly appId: string;
  /**
   * The operator our own edits carry in the provider's after-modify echo (Tencent: the admin account).
   * Absent when the provider's echo does not say who edited: then content alone matches the intent.
   */
  readonly operator?: string;
  /** Throws UnauthorizedError / ForbiddenError; nothing is parsed before it passes. */
  verify(request: CallbackRequest): void;
  /** Throws BadRequestError. Empty for commands im-edit does not record. */
  interpret(request: CallbackRequest): RecorderEvent[];
  /** The answer the provider expects from a callback receiver that accepted the callback. */
  readonly ack: CallbackReply;
  /**
   * The answer to a callback, rendered from the *decide* stage's decision (`allow` for every callback
   * but a before-send that a hook refused, dropped or rewrote): `allow` is `ack`. `message` is the
   * before-send's message (its kind decides what the provider allows, e.g. a silent drop for groups only).
   * A provider without before-send callbacks answers `ack` whatever the decision. `request` is the
   * callback, for a before-send im-edit could not read (no `message`) that the app's handler decided.
   */
  reply(decision: Decision, message?: ObservedMessage, request?: CallbackRequest): CallbackReply;
  /**
   * Turns lookup query parameters into an index lookup. Undefined when the parameters name no key
   * (then the request is a list); throws BadRequestError for an incomplete key.
   */
  lookup(appId: string, params: Readonly<Record<string, string | undefined>>): KeyLookup | undefined;
  /**
   * The relay to the app's own callback handler (issue 16): present when the provider's forward URL is
   * set. Only callbacks that passed `verify` are forwarded.
   */
  readonly relay?: CallbackRelay;
}

/** What an edit sends and what the message holds afterwards. */
export interface EditPlan {
  /** The whole content after the edit: the new version. */
  readonly content: Content;
  /** Only the fields the modify call sends (the modify APIs overwrite only what is sent). */
  readonly send: Content;
}

/**
 * Everything provider-specific about editing. The edit protocol (lease, intent, versions, idempotency)
 * lives in the core and calls these; it never branches on the provider.
 */
export interface ProviderEditor {
  readonly name: ProviderName;
  readonly appId: string;
  /** Validates an edit body: 400 for a malformed one, 422 for content the provider would refuse. */
  parseChange(body: unknown): EditChange;
  /** Applies a parsed change to the message's current content. */
  plan(head: MessageHead, change: EditChange): EditPlan;
  /** Writes a version back whole: every field, empty values for those it lacks. 422 when it cannot. */
  planRestore(head: MessageHead, target: Content): EditPlan;
  /** Why a version's content cannot be sent back through the modify API, if it cannot. */
  notRestorable(content: Content): string | undefined;
  /** Provider rules beyond the state: e.g. a maximum message age. 409 when they forbid the edit. */
  checkEditable(head: MessageHead, now: Date): void;
  /** The rate-limiter keys the modify call of this message takes slots of (admission before any work). */
  rateKeys?(head: MessageHead): readonly string[];
  /** The modify call. Throws typed errors; OutcomeUnknownError when it was sent but not answered. */
  modify(head: MessageHead, send: Content, deadline: number): Promise<{ providerRequestId?: string }>;
  /**
   * The message's content as the provider has it now. `null`: the provider says it does not exist (so
   * no edit can have landed); `undefined`: it could not be found where the provider keeps history
   * (outside the roaming window, a hole): that decides nothing.
   */
  readBack(head: MessageHead, deadline: number): Promise<Content | null | undefined>;
  /**
   * Whether the provider still shows the message, for providers whose callbacks can be replayed with
   * another body (Tencent signs only the URL): a recall or send failure that the provider contradicts
   * must not block edits for good. Undefined: the history cannot tell.
   */
  probe?(head: MessageHead, deadline: number): Promise<"present" | "recalled" | undefined>;
  /**
   * Why this provider cannot page the history `query` asks for (a conversation kind it has no history
   * API for, a missing setting), or undefined when it can. Checked before a reconcile job is created.
   */
  historyProblem?(query: HistoryQuery): string | undefined;
  /**
   * One page of the provider's history of one conversation over `[since, until)` (reconcile): each
   * message as the callback path would have observed it (same id, key, conversation, sender, content
   * shape). `pageToken` is the previous page's `nextToken` (undefined: the first page); no `nextToken`:
   * the last page. Every call goes through the rate limiter like the modify calls.
   */
  history?(query: HistoryQuery, pageToken: string | undefined, deadline: number): Promise<HistoryPage>;
}

/** A conversation's history over `[since, until)` (epoch ms): exactly one of `pair` and `groupId`. */
export interface HistoryQuery {
  /** A one-to-one conversation (Tencent C2C, Yunxin P2P), both directions. */
  readonly pair?: readonly [string, string];
  /** A group (Tencent) or team (Yunxin). */
  readonly groupId?: string;
  /** A topic of a Tencent Community group ("" or absent: none). */
  readonly topicId?: string;
  readonly since: number;
  readonly until: number;
}

export interface HistoryPage {
  readonly items: HistoryItem[];
  /** Opaque; absent on the last page. */
  readonly nextToken?: string;
}

export interface HistoryItem {
  readonly message: ObservedMessage;
  readonly content: Content;
  readonly state: "sent" | "recalled";
  /** Provider time (epoch ms) of the content shown, when the history tells it (else the send time). */
  readonly eventAt?: number;
}

/** A provider's parsed edit body; only the provider that parsed it reads it. */
export type EditChange = Readonly<Record<string, unknown>>;
