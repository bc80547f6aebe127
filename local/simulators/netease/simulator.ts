import type { IncomingMessage } from "node:http";
import { Sender } from "../common/sender.ts";
import {
  type Listening,
  type ListenOptions,
  listen,
  type Outcome,
  REQUEST_LIMIT_BYTES,
  type RequestBody,
  type RequestStats,
  type Routed,
  SimulatorServer,
} from "../common/server.ts";
import { verifyHeaders, verifyJsonContentType } from "./auth.ts";
import { type CopyBody, copySigning, recallCopy } from "./copies.ts";
import { Code, YunxinError } from "./errors.ts";
import { checkErrorFault, type NeteaseErrorFault } from "./faults.ts";
import { queryMessages } from "./history.ts";
import { isObject, type JsonObject, parseExact } from "./json.ts";
import { type ApiContext, type Handled, modifyMessage, queryMessage, sendMessage } from "./messages.ts";
import { EditLimiter } from "./rate.ts";
import { MessageStore, type StoredMessage, snapshot, type TeamKind } from "./store.ts";

export interface NeteaseSimulatorOptions extends ListenOptions {
  readonly appKey: string;
  readonly appSecret: string;
  /** Where message copies (消息抄送) go, e.g. http://127.0.0.1:3000/callbacks/netease; none when unset. */
  readonly copyUrl?: string;
  /** modifyMsg edits of one message allowed in any rolling second; default 1 (107449 above it). */
  readonly editsPerMessagePerSecond?: number;
  /** Older messages cannot be modified (414); default 7 days. */
  readonly maxAgeMs?: number;
  /** Milliseconds clock for create/modify times, the CurTime window, copy CurTime and the edit limit. */
  readonly now?: () => number;
}

/**
 * Request counts by API name ("send", "modifyMsg", "queryMessage", "queryMessages", "unknown"): `rateLimited` are the
 * 107449 refusals, `applied` the code 200 answers.
 */
export interface NeteaseSimulatorStats extends RequestStats {
  /** Copies the receiver answered with HTTP 200. */
  readonly copiesDelivered: number;
  /** Copies that failed (network error, timeout, non-200). */
  readonly copyFailures: number;
}

export type { NeteaseFault } from "./faults.ts";
export type { ConversationType, StoredMessage, TeamKind } from "./store.ts";

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

type Route =
  | { readonly api: "send"; readonly conversationId: string }
  | { readonly api: "modifyMsg" }
  | { readonly api: "queryMessage"; readonly conversationId: string; readonly messageServerId: string }
  | { readonly api: "queryMessages"; readonly conversationId: string }
  | { readonly api: "unknown" };

/**
 * NetEase Yunxin's v2 IM REST API on loopback, for tests and the local stack: the header/CheckSum checks
 * of the real service (netease-yunxin-notes §1.1), send, modifyMsg and query-single-message (§2, §3.1,
 * §5) over an in-memory store with exact 64-bit ids, and the message copies (消息抄送, §3.2) they trigger,
 * signed like Yunxin's, posted to one URL before the API answers. Faults can be injected.
 */
export class NeteaseSimulator extends SimulatorServer<NeteaseErrorFault, CopyBody> {
  protected readonly sender: Sender<CopyBody>;
  readonly #options: NeteaseSimulatorOptions;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #store = new MessageStore();
  readonly #limiter: EditLimiter;
  readonly #copies = { delivered: 0, failed: 0 };

  static async start(options: NeteaseSimulatorOptions): Promise<NeteaseSimulator> {
    checkOptions(options);
    return new NeteaseSimulator(options, await listen(options));
  }

  private constructor(options: NeteaseSimulatorOptions, listening: Listening) {
    super(listening, {
      name: "netease",
      // Every answer is HTTP 200 (notes §1.3).
      contentType: "application/json;charset=UTF-8",
      internalCode: Code.internal,
      fail,
      errorText: (fault) => fault.msg,
      checkErrorFault,
    });
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? SEVEN_DAYS_MS;
    this.#limiter = new EditLimiter(options.editsPerMessagePerSecond ?? 1);
    const signing = copySigning({
      appKey: options.appKey,
      appSecret: options.appSecret,
      now: this.#now,
      delivered: () => {
        this.#copies.delivered += 1;
      },
      failed: () => {
        this.#copies.failed += 1;
      },
    });
    this.sender = new Sender(signing, options.copyUrl);
  }

  setCopyUrl(url: string | undefined): void {
    this.sender.setUrl(url);
  }

  /**
   * Test back door: creates an advanced team ("team", conversation type 2) or a super team (type 3).
   * `tid` is digits (Yunxin team ids are Longs). `members` (the owner is always one) only feed the
   * copies' `tMembers`; membership is not enforced.
   */
  createTeam(tid: string, kind: TeamKind, owner: string, members: readonly string[] = []): void {
    if (!/^[1-9]\d{0,18}$/.test(tid)) throw new TypeError("tid must be a positive integer in decimal digits");
    if (kind !== "team" && kind !== "superteam") throw new TypeError(`unknown team kind ${String(kind)}`);
    if (owner === "") throw new TypeError("owner must not be empty");
    if (this.#store.team(tid) !== undefined) throw new Error(`team ${tid} already exists`);
    this.#store.addTeam({ tid, kind, owner, members: [...new Set([owner, ...members])] });
  }

  /** The message with this server id (exact digits), as a copy; undefined when unknown. */
  message(messageServerId: string): StoredMessage | undefined {
    const record = this.#store.get(messageServerId);
    return record === undefined ? undefined : snapshot(record);
  }

  /**
   * Simulates a recall by the sender (as from a client SDK): marks the message recalled (modifyMsg and
   * the query then answer 404) and sends an eventType "7" (P2P) / "8" (team) copy in the synthetic
   * "recall API parameters" format (see README). Resolves after the copy was answered or failed.
   */
  async recall(messageServerId: string, msg?: string): Promise<void> {
    const record = this.#store.get(messageServerId);
    if (record === undefined) throw new Error(`no message ${messageServerId}`);
    if (record.recalled) throw new Error(`message ${messageServerId} is already recalled`);
    record.recalled = true;
    record.recalledAtMs = this.#now();
    await this.sender.send(recallCopy(record, record.sender_id, msg));
  }

  get stats(): NeteaseSimulatorStats {
    return {
      ...this.requestStats(),
      copiesDelivered: this.#copies.delivered,
      copyFailures: this.#copies.failed,
    };
  }

  protected route(req: IncomingMessage, url: URL, body: RequestBody): Routed<CopyBody> {
    const route = routeOf(req.method, url.pathname);
    return { api: route.api, handle: () => this.#handle(req, route, url, body) };
  }

  /** Everything Yunxin checks, in order; a YunxinError anywhere means nothing was applied. */
  #handle(req: IncomingMessage, route: Route, url: URL, body: RequestBody): Outcome<CopyBody> {
    try {
      const nowMs = this.#now();
      verifyHeaders(req.headers, this.#options, nowMs);
      if (route.api === "unknown")
        throw new YunxinError(Code.notFound, `no such API: ${req.method} ${url.pathname}`);
      const context: ApiContext = {
        nowMs,
        store: this.#store,
        limiter: this.#limiter,
        maxAgeMs: this.#maxAgeMs,
      };
      let handled: Handled;
      if (route.api === "queryMessage") {
        handled = queryMessage(context, route.conversationId, route.messageServerId, url.searchParams);
      } else if (route.api === "queryMessages") {
        handled = queryMessages(context, route.conversationId, url.searchParams);
      } else {
        verifyJsonContentType(req.headers);
        const json = parseBody(body);
        handled =
          route.api === "send"
            ? sendMessage(context, route.conversationId, json)
            : modifyMessage(context, json);
      }
      if (handled.applied !== false) this.requests.applied.bump(route.api);
      return {
        envelope: { code: Code.ok, msg: "success", data: handled.data },
        notifications: handled.copies,
        timing: "before-answer",
      };
    } catch (error) {
      if (!(error instanceof YunxinError)) throw error;
      if (error.code === Code.tooFrequent) this.requests.rateLimited.bump(route.api);
      return { envelope: fail(error.code, error.msg), notifications: [], timing: "before-answer" };
    }
  }
}

function checkOptions(options: NeteaseSimulatorOptions): void {
  if (options.appKey === "") throw new TypeError("appKey must not be empty");
  if (options.appSecret === "") throw new TypeError("appSecret must not be empty");
  if (options.copyUrl !== undefined) new URL(options.copyUrl);
  if (options.maxAgeMs !== undefined && !(options.maxAgeMs >= 0))
    throw new RangeError("maxAgeMs must be >= 0");
  const edits = options.editsPerMessagePerSecond;
  if (edits !== undefined && (!Number.isSafeInteger(edits) || edits < 1)) {
    throw new RangeError("editsPerMessagePerSecond must be a positive integer");
  }
}

/** Maps method + path to an API; path segments are percent-decoded (`|` arrives as %7C from most clients). */
function routeOf(method: string | undefined, pathname: string): Route {
  const decode = (segment: string | undefined): string | undefined => {
    try {
      return segment === undefined ? undefined : decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  };
  if (method === "POST" && pathname === "/im/v2/messages/actions/modifyMsg") return { api: "modifyMsg" };
  const send = /^\/im\/v2\/conversations\/([^/]+)\/messages$/.exec(pathname);
  const sendId = decode(send?.[1]);
  if (method === "POST" && sendId !== undefined) return { api: "send", conversationId: sendId };
  // Page history: the v2.1 path, and the deprecated v2 one (notes §5).
  const history = /^\/im\/v2(?:\.1)?\/conversations\/([^/]+)\/messages$/.exec(pathname);
  const historyId = decode(history?.[1]);
  if (method === "GET" && historyId !== undefined) return { api: "queryMessages", conversationId: historyId };
  // The v2.1 path, and the older v2 one that still works (notes §5).
  const query = /^\/im\/v2(?:\.1)?\/conversations\/([^/]+)\/messages\/([^/]+)$/.exec(pathname);
  const queryId = decode(query?.[1]);
  const messageId = decode(query?.[2]);
  if (method === "GET" && queryId !== undefined && messageId !== undefined) {
    return { api: "queryMessage", conversationId: queryId, messageServerId: messageId };
  }
  return { api: "unknown" };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body must be a UTF-8 JSON object, its numbers kept exact (see json.ts); 414 otherwise. */
function parseBody(body: RequestBody): JsonObject {
  if (body.size > REQUEST_LIMIT_BYTES) throw new YunxinError(Code.param, "request body is too large");
  let value: unknown;
  try {
    value = parseExact(utf8.decode(body.bytes));
  } catch {
    throw new YunxinError(Code.param, "request body is not valid JSON");
  }
  if (!isObject(value)) throw new YunxinError(Code.param, "request body is not a JSON object");
  return value;
}

const fail = (code: number, msg: string): JsonObject => ({ code, msg, data: {} });
