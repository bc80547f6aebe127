import type { Decision } from "./decide.ts";
import type { ObservedMessage, ProviderName } from "./model.ts";
import type { CallbackRequest } from "./provider.ts";

/**
 * The callback relay (issue 16): im-edit in front of the app's own callback handler. Every callback that
 * passed im-edit's verification is forwarded to the provider's forward URL: a before-send synchronously
 * (the app's answer is the first *decide* hook), every other callback after it was recorded, through the
 * forward queue (at least once). This file holds the ports and the records; the provider-specific parts
 * live in `providers/<name>/relay.ts`, the transports in `adapters/relay/`.
 */

/**
 * A verified callback as the app's handler will receive it: the provider's bytes as received. The
 * signature fields (Tencent `Sign`/`RequestTime`, Yunxin `CurTime`/`CheckSum`) are recomputed with the
 * app's own secret at each delivery attempt, so a retried forward is still fresh. JSON-safe: it travels
 * on SQS and in local files.
 */
export interface Forward {
  readonly provider: ProviderName;
  /** Stable across retries and redrives (`X-Im-Edit-Forward-Id`): the app may drop a repeated delivery. */
  readonly id: string;
  /** The query string exactly as received, without the leading `?`. */
  readonly rawQuery: string;
  /** The provider's headers the app gets (lower-case names), as received. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body bytes, base64. */
  readonly body: string;
  /** The provider's address as im-edit saw it (`X-Forwarded-For`). */
  readonly sourceIp?: string;
  /** The message the callback recorded, if it recorded one (`X-Im-Edit-Message-Id`). */
  readonly messageId?: string;
  /** ISO 8601. */
  readonly receivedAt: string;
}

/** One delivery attempt, ready for the wire: re-signed, headers final. */
export interface ForwardRequest {
  /** The forward URL with the (re-signed) query string. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What the app's handler answered (the body bounded by the forwarder's cap). */
export interface ForwardAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * The provider's part of the relay (`CallbackProvider.relay`, present when its forward URL is set): where
 * to, which headers travel, how to sign for the app, and how to read the app's before-send answer.
 */
export interface CallbackRelay {
  /** The app's handler (`<PROVIDER>_CALLBACK_FORWARD_URL`). */
  readonly url: string;
  /** The provider's own headers the app gets besides `content-type` and `user-agent` (lower-case). */
  readonly headers: readonly string[];
  /**
   * The query parameters `sign` recomputes (Tencent `Sign`, `RequestTime`): left out of a forward's id, so
   * the provider's own retry of a callback (fresh signature, same bytes) keeps the id. None when absent.
   */
  readonly signatureParams?: readonly string[];
  /** A callback whose answer decides the message (Tencent before-send): forwarded synchronously. */
  synchronous(request: CallbackRequest): boolean;
  /** The query string and headers signed afresh with the app's secret at `now` (the body is never changed). */
  sign(
    forward: {
      readonly rawQuery: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: Buffer;
    },
    now: Date,
  ): { readonly rawQuery: string; readonly headers: Readonly<Record<string, string>> };
  /**
   * A synchronous callback's answer from the app as a decision, validated against the provider's
   * documented envelope and codes; `{ invalid }` when it cannot be used (the fallback policy applies).
   * `message` is the before-send's message when im-edit could read it.
   */
  decision?(
    answer: ForwardAnswer,
    message: ObservedMessage | undefined,
  ): Decision | { readonly invalid: string };
}

/** The asynchronous forwards' port: SQS in AWS (`FORWARD_QUEUE_URL`), a durable directory locally. */
export interface ForwardQueue {
  /** Resolves once the forward is durable (it will be delivered at least once, or dead-lettered). */
  enqueue(forward: Forward): Promise<void>;
}

/**
 * Sends one request to the app's handler on a pooled client: strict timeouts, redirects never followed
 * (a 3xx is an answer), an answer body over the cap refused (`ForwardFailure` `too_large`).
 */
export interface Forwarder {
  send(request: ForwardRequest, timeoutMs: number, signal?: AbortSignal): Promise<ForwardAnswer>;
}
