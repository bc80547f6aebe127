import { createHash } from "node:crypto";
import { isAppError } from "./errors.ts";
import type { ProviderName } from "./model.ts";
import type { CallbackRequest } from "./provider.ts";
import type { CallbackRelay, Forward, Forwarder, ForwardRequest } from "./relay.ts";

/**
 * The relay's delivery (issue 16): a verified callback made into a `Forward`, each attempt re-signed with
 * the app's secret, and what the app's answer means for the queue (delivered, retry, or dead letter).
 * Shared by the synchronous before-send hook (`callbackForwardRequest` + `Forwarder.send`) and the
 * asynchronous forward queues (`deliverForward`). No transport here: the forwarder and the queues are
 * adapters.
 */

/** What a failed forward says: a code, our own words (never a secret, a body or a query), a status. */
export interface ForwardFailureReason {
  /**
   * `timeout`, `unreachable` (connection refused or reset, DNS), `too_large` (the answer is over the cap),
   * `app_status` (the app answered a status that is not 2xx), `misconfigured` (the app's secret is
   * unusable), `not_configured` (no forward URL for the provider any more), `unexpected`.
   */
  readonly code: string;
  readonly message: string;
  /** The app's HTTP status, when it answered. */
  readonly status?: number;
}

/**
 * A forward that did not get through. `retryable`: another attempt may (the app timed out, was down,
 * answered 408/425/429/5xx or too much); otherwise it goes to the dead letters at once (a 3xx or another
 * 4xx, a misconfiguration), from where it can be replayed once the app or the configuration is fixed.
 */
export class ForwardFailure extends Error {
  override readonly name = "ForwardFailure";
  constructor(
    readonly retryable: boolean,
    readonly reason: ForwardFailureReason,
    options?: { readonly cause?: unknown },
  ) {
    super(reason.message, options);
  }
}

/** Provider headers every app gets, besides the relay's own (`CallbackRelay.headers`). */
const KEPT_HEADERS = ["content-type", "user-agent"] as const;

/** Headers the forward adds (the transport sets `host` and `content-length` itself). */
export const FORWARD_ID_HEADER = "x-im-edit-forward-id";
export const MESSAGE_ID_HEADER = "x-im-edit-message-id";
const FORWARDED_FOR_HEADER = "x-forwarded-for";

/** Never copied from the provider's request: they describe im-edit's hop, not the app's. */
const HOP_HEADERS = new Set(["host", "content-length", "connection", "transfer-encoding", "keep-alive"]);

/**
 * The callback as the app's handler will get it: the body bytes and the query string as received (a
 * request that did not keep its raw query: the parsed one re-encoded), the provider's headers the relay
 * keeps (lower-case), and an id that a redelivery of the same callback by the provider (other signature
 * fields, same bytes) shares.
 */
export function forwardOf(
  request: CallbackRequest,
  provider: ProviderName,
  relay: CallbackRelay,
  messageId?: string,
): Forward {
  const unsigned = unsignedOf(request, provider, relay, messageId);
  // The body keeps its place among the fields (a forward's JSON reads as it always did).
  return {
    ...unsigned,
    body: unsigned.body.toString("base64"),
    receivedAt: request.receivedAt.toISOString(),
  };
}

/** A forward before it is signed: its fields, the body as bytes. */
type Unsigned = Omit<Forward, "body" | "receivedAt"> & { readonly body: Buffer };

function unsignedOf(
  request: CallbackRequest,
  provider: ProviderName,
  relay: CallbackRelay,
  messageId: string | undefined,
): Unsigned {
  const rawQuery = request.rawQuery ?? encodeQuery(request.query);
  const headers: Record<string, string> = {};
  for (const name of [...KEPT_HEADERS, ...relay.headers.map((header) => header.toLowerCase())]) {
    const value = request.headers[name];
    if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
  }
  return {
    provider,
    id: forwardId(provider, rawQuery, request.body, relay.signatureParams ?? []),
    rawQuery,
    headers,
    body: request.body,
    ...(request.sourceIp !== undefined ? { sourceIp: request.sourceIp } : {}),
    ...(messageId !== undefined ? { messageId } : {}),
  };
}

/**
 * The first 32 hex digits of sha256(provider, query without its signature parameters, body): the
 * provider's own retry of a callback carries a new `RequestTime`/`Sign` (Yunxin: new `CurTime`/`CheckSum`
 * headers, never part of the id) over the same bytes, so the app sees one id for both.
 */
export function forwardId(
  provider: ProviderName,
  rawQuery: string,
  body: Uint8Array,
  signatureParams: readonly string[],
): string {
  const unsigned = rawQuery
    .split("&")
    .filter((pair) => pair !== "" && !signatureParams.includes(decodeName(pair)))
    .join("&");
  return createHash("sha256")
    .update(provider)
    .update("\0")
    .update(unsigned)
    .update("\0")
    .update(body)
    .digest("hex")
    .slice(0, 32);
}

/**
 * One attempt at `now`, ready for the wire: the query and headers signed afresh by the provider's relay
 * with the app's secret (throws `ForwardFailure` `misconfigured` when that secret is unusable), plus
 * `X-Forwarded-For`, `X-Im-Edit-Forward-Id` and `X-Im-Edit-Message-Id` when a message was recorded.
 */
export function forwardRequest(forward: Forward, relay: CallbackRelay, now: Date): ForwardRequest {
  return signed({ ...forward, body: Buffer.from(forward.body, "base64") }, relay, now);
}

/**
 * A synchronous forward (a before-send): the callback itself as `forwardRequest(forwardOf(...))` would
 * make it, same id and headers, without taking the body to base64 and back inside the provider's 2 s.
 */
export function callbackForwardRequest(
  request: CallbackRequest,
  provider: ProviderName,
  relay: CallbackRelay,
  now: Date,
  messageId?: string,
): ForwardRequest {
  return signed(unsignedOf(request, provider, relay, messageId), relay, now);
}

function signed(forward: Unsigned, relay: CallbackRelay, now: Date): ForwardRequest {
  const { body } = forward;
  let signature: ReturnType<CallbackRelay["sign"]>;
  try {
    signature = relay.sign({ rawQuery: forward.rawQuery, headers: forward.headers, body }, now);
  } catch (thrown: unknown) {
    if (isAppError(thrown) && thrown.code === "misconfigured") {
      throw new ForwardFailure(false, {
        code: "misconfigured",
        message: `${forward.provider} forwards are refused: the app's forward secret is unusable`,
      });
    }
    throw thrown;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signature.headers)) {
    const lower = name.toLowerCase();
    if (!HOP_HEADERS.has(lower)) headers[lower] = value;
  }
  if (forward.sourceIp !== undefined) headers[FORWARDED_FOR_HEADER] = forward.sourceIp;
  headers[FORWARD_ID_HEADER] = forward.id;
  if (forward.messageId !== undefined) headers[MESSAGE_ID_HEADER] = forward.messageId;
  return { url: withQuery(relay.url, signature.rawQuery), headers, body };
}

export interface DeliverOptions {
  /** The provider's relay now (undefined: its forward URL is no longer set). */
  readonly relay: CallbackRelay | undefined;
  readonly forwarder: Forwarder;
  /** One attempt's budget (FORWARD_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly now?: () => Date;
}

/**
 * One asynchronous delivery attempt: resolves when the app answered 2xx, throws `ForwardFailure`
 * otherwise. Retryable: a timeout, a network failure, an answer over the cap, 408, 425, 429 or 5xx.
 * Not: a 3xx (redirects are never followed), any other 4xx, a misconfigured secret, no forward URL.
 */
export async function deliverForward(forward: Forward, options: DeliverOptions): Promise<void> {
  const { relay, forwarder, timeoutMs, now = () => new Date() } = options;
  if (!relay) {
    throw new ForwardFailure(false, {
      code: "not_configured",
      message: `no forward URL is configured for ${forward.provider}`,
    });
  }
  const request = forwardRequest(forward, relay, now());
  let status: number;
  try {
    ({ status } = await forwarder.send(request, timeoutMs));
  } catch (thrown: unknown) {
    if (thrown instanceof ForwardFailure) throw thrown;
    // A forwarder speaks ForwardFailure; anything else is a bug, named (its message may quote the URL).
    const name = thrown instanceof Error ? thrown.name : typeof thrown;
    throw new ForwardFailure(true, { code: "unexpected", message: `the forward failed: ${name}` });
  }
  if (status >= 200 && status < 300) return;
  throw new ForwardFailure(retryableStatus(status), {
    code: "app_status",
    message: `the app answered ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`,
    status,
  });
}

/** Statuses worth another attempt: the app is busy, slow or down, not refusing the callback. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The forward URL with the signed query appended (after the URL's own query, if it has one). */
function withQuery(url: string, rawQuery: string): string {
  if (rawQuery === "") return url;
  const hash = url.indexOf("#");
  const base = hash === -1 ? url : url.slice(0, hash);
  const separator = !base.includes("?") ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&";
  return `${base}${separator}${rawQuery}`;
}

/** A query's parameter name, decoded (`+` is a space in a query string). */
export function decodeName(pair: string): string {
  const equals = pair.indexOf("=");
  const name = (equals === -1 ? pair : pair.slice(0, equals)).replaceAll("+", " ");
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** A parsed query back as a string, for a request that did not keep its raw query. */
function encodeQuery(query: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.append(name, value);
  return params.toString();
}
