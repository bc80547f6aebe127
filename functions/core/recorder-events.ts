import type { Content, MessageHead, ObservedMessage, PendingRewrite, SendError, Version } from "./model.ts";

/**
 * What a provider callback means for the store, independent of the provider's field names.
 * Provider modules produce these; `Recorder.apply` makes them durable, idempotently.
 */
export type RecorderEvent =
  /**
   * Before-send: the message exists but was not delivered yet. With `refused` a *decide* hook refused
   * (or silently dropped) it: recorded as failed, content kept. With `rewrite` a hook rewrote it: the
   * content stays the sender's, the rewrite is kept beside it (MessageHead.rewrite).
   */
  | {
      readonly type: "pending";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly refused?: SendError;
      readonly rewrite?: PendingRewrite;
    }
  /** After-send: delivered (or failed to deliver, with `sendError`). Content becomes version 1. */
  | {
      readonly type: "sent";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly sendError?: SendError;
      /** Provider time of the send (epoch ms): `EventTime`, else `MsgTime`. */
      readonly eventAt?: number;
      /** Digest of the callback's bytes: a redelivery is a duplicate. */
      readonly eventKey?: string;
      /** The provisional record (created before the provider assigned the key) this send completes. */
      readonly provisionalId?: string;
    }
  /** The provider could not send a message known only provisionally. */
  | { readonly type: "failed"; readonly message: ObservedMessage; readonly sendError: SendError }
  /**
   * Recalled. With `message`, a recall of a message never seen sent leaves a tombstone (so a late
   * after-send stays recalled); with only the id, a message never recorded cannot be matched.
   */
  | {
      readonly type: "recalled";
      readonly id: string;
      readonly message?: ObservedMessage;
      readonly actor?: string;
      readonly at: string;
    }
  /**
   * After-modify: the message now has this content. Fields the provider did not report keep their
   * previous value (`content` is merged over the newest version).
   */
  | {
      readonly type: "modified";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly actor?: string;
      readonly at: string;
      /** Provider time of the edit (epoch ms): orders it against other events of the message. */
      readonly eventAt?: number;
      readonly eventKey?: string;
    }
  /**
   * A copy of the message as it is now (Yunxin's 抄送): the first one records it as sent; a later one
   * with other content is an edit (our own, matched by the open intent, or someone else's).
   */
  | {
      readonly type: "observed";
      readonly message: ObservedMessage;
      readonly content: Content;
      readonly at: string;
      /** When the provider sent the copy (epoch ms): copies carry no edit time of their own. */
      readonly eventAt?: number;
      readonly eventKey?: string;
    };

/** The id of the message an event is about. */
export const eventMessageId = (event: RecorderEvent): string =>
  event.type === "recalled" ? event.id : event.message.id;

/** `unmatched`: the event names a message im-edit never recorded and carries too little to record it. */
export type ApplyOutcome = "created" | "updated" | "duplicate" | "unmatched";

/** What applying one event wrote: what the *publish* stage makes its events from. */
export interface Applied {
  readonly outcome: ApplyOutcome;
  /** The message id. */
  readonly id: string;
  /** The head as last written by this event (absent when nothing was written). */
  readonly head?: Pick<MessageHead, "id" | "provider" | "appId" | "state" | "version" | "updatedAt">;
  /** The version this event wrote (version 1 in the head, or a version item), if it wrote one (the newest). */
  readonly version?: Omit<Version, "content" | "contentHash">;
  /**
   * Every version it wrote, oldest first, when it wrote several: the after-send of a rewritten before-send
   * records the sender's original, each rewrite step and (when the provider changed it) its own content.
   */
  readonly versions?: readonly Omit<Version, "content" | "contentHash">[];
}

/** Hook for the editor's echo rule: lets an edit intent claim an after-modify (or a copy) as its own echo. */
export interface EchoMatcher {
  /** `replace`: the event carries the whole content (a provider copy), not only the changed fields. */
  isOwnEcho(
    event: { readonly content: Content; readonly actor?: string; readonly replace?: boolean },
    head: MessageHead,
  ): Promise<boolean>;
}
