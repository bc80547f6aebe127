import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { verifyHeaders, verifyJsonContentType } from "./auth.ts";
import { type CopyBody, CopySender, recallCopy } from "./copies.ts";
import { Code, YunxinError } from "./errors.ts";
import { FaultQueue, type NeteaseFault } from "./faults.ts";
import { isObject, type JsonObject, parseExact } from "./json.ts";
import { type ApiContext, type Handled, modifyMessage, queryMessage, sendMessage } from "./messages.ts";
import { EditLimiter } from "./rate.ts";
import { MessageStore, type StoredMessage, snapshot, type TeamKind } from "./store.ts";

export interface NeteaseSimulatorOptions {
  readonly appKey: string;
  readonly appSecret: string;
  /** Where message copies (消息抄送) go, e.g. http://127.0.0.1:3000/callbacks/netease; none when unset. */
  readonly copyUrl?: string;
  /** modifyMsg edits of one message allowed in any rolling second; default 1 (107449 above it). */
  readonly editsPerMessagePerSecond?: number;
  /** Older messages cannot be modified (414); default 7 days. */
  readonly maxAgeMs?: number;
  readonly host?: string;
  readonly port?: number;
  /** Milliseconds clock for create/modify times, the CurTime window, copy CurTime and the edit limit. */
  readonly now?: () => number;
}

export interface NeteaseSimulatorStats {
  /** Every request that arrived, by API name ("send", "modifyMsg", "queryMessage", "unknown"). */
  readonly calls: Readonly<Record<string, number>>;
  /** Requests refused with 107449. */
  readonly rateLimited: Readonly<Record<string, number>>;
  /** Requests handled with code 200 (for writes: the change took effect), answered or not. */
  readonly applied: Readonly<Record<string, number>>;
  /** Requests that consumed an injected fault. */
  readonly faulted: Readonly<Record<string, number>>;
  /** Copies the receiver answered with HTTP 200. */
  readonly copiesDelivered: number;
  /** Copies that failed (network error, timeout, non-200). */
  readonly copyFailures: number;
}

export type { NeteaseFault } from "./faults.ts";
export type { ConversationType, StoredMessage, TeamKind } from "./store.ts";

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;
const REQUEST_LIMIT_BYTES = 1024 * 1024;

type Route =
  | { readonly api: "send"; readonly conversationId: string }
  | { readonly api: "modifyMsg" }
  | { readonly api: "queryMessage"; readonly conversationId: string; readonly messageServerId: string }
  | { readonly api: "unknown" };

interface Outcome {
  readonly envelope: JsonObject;
  readonly copies: readonly CopyBody[];
}

/**
 * NetEase Yunxin's v2 IM REST API on loopback, for tests and the local stack: the header/CheckSum checks
 * of the real service (netease-yunxin-notes §1.1), send, modifyMsg and query-single-message (§2, §3.1,
 * §5) over an in-memory store with exact 64-bit ids, and the message copies (消息抄送, §3.2) they trigger,
 * signed like Yunxin's, posted to one URL before the API answers. Faults can be injected.
 */
export class NeteaseSimulator {
  readonly url: string;
  readonly #options: NeteaseSimulatorOptions;
  readonly #server: Server;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #store = new MessageStore();
  readonly #faults = new FaultQueue();
  readonly #limiter: EditLimiter;
  readonly #copies: CopySender;
  readonly #closing = new AbortController();
  readonly #counters = {
    calls: new Map<string, number>(),
    rateLimited: new Map<string, number>(),
    applied: new Map<string, number>(),
    faulted: new Map<string, number>(),
    copiesDelivered: 0,
    copyFailures: 0,
  };
  #closed: Promise<void> | undefined;

  static async start(options: NeteaseSimulatorOptions): Promise<NeteaseSimulator> {
    checkOptions(options);
    const server = createServer();
    server.keepAliveTimeout = 65_000;
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    return new NeteaseSimulator(options, server, `http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  }

  private constructor(options: NeteaseSimulatorOptions, server: Server, url: string) {
    this.url = url;
    this.#options = options;
    this.#server = server;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? SEVEN_DAYS_MS;
    this.#limiter = new EditLimiter(options.editsPerMessagePerSecond ?? 1);
    this.#copies = new CopySender(
      {
        appKey: options.appKey,
        appSecret: options.appSecret,
        now: this.#now,
        delivered: () => {
          this.#counters.copiesDelivered += 1;
        },
        failed: () => {
          this.#counters.copyFailures += 1;
        },
      },
      options.copyUrl,
    );
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.#serve(req, res).catch((error: unknown) => {
        // Handlers refuse with YunxinError; anything else is a simulator bug, answered as code 500.
        const reason = error instanceof Error ? error.message : String(error);
        process.stderr.write(`netease simulator error: ${reason}\n`);
        if (!res.headersSent && !res.destroyed) void answer(res, fail(Code.internal, "internal error"));
      });
    });
  }

  setCopyUrl(url: string | undefined): void {
    if (url !== undefined) new URL(url);
    this.#copies.setUrl(url);
  }

  /** Queues a fault; faults are consumed in order, `times` (default 1) each, by requests they match. */
  inject(fault: NeteaseFault): void {
    this.#faults.add(fault);
  }

  /** Injected faults not consumed yet. */
  get pendingFaults(): number {
    return this.#faults.size;
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
    await this.#copies.send(recallCopy(record, record.sender_id, msg));
  }

  get stats(): NeteaseSimulatorStats {
    const c = this.#counters;
    return {
      calls: Object.fromEntries(c.calls),
      rateLimited: Object.fromEntries(c.rateLimited),
      applied: Object.fromEntries(c.applied),
      faulted: Object.fromEntries(c.faulted),
      copiesDelivered: c.copiesDelivered,
      copyFailures: c.copyFailures,
    };
  }

  /** Resolves once every copy sent so far has been answered or has failed. */
  idle(): Promise<void> {
    return this.#copies.idle();
  }

  /** Stops listening, drops open connections, lets started copies finish (≤ 2 s each). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
      await this.#copies.close();
    })();
    return this.#closed;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read the whole body first, whatever happens next, so keep-alive connections stay usable.
    let body: { bytes: Buffer; size: number };
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-body: nobody to answer
    }
    const url = new URL(req.url ?? "/", "http://simulator");
    const route = routeOf(req.method, url.pathname);
    bump(this.#counters.calls, route.api);

    const fault = this.#faults.take(route.api);
    if (fault !== undefined) bump(this.#counters.faulted, route.api);
    switch (fault?.kind) {
      case "error":
        return answer(res, fail(fault.code, fault.msg ?? "injected fault"));
      case "http-status":
        return gatewayPage(res, fault.status);
      case "reset-before-apply":
        return reset(res);
      case "delay":
        try {
          await sleep(fault.ms, undefined, { signal: this.#closing.signal });
        } catch {
          return reset(res);
        }
        break;
    }

    const outcome = this.#handle(req, route, url, body);
    if (fault?.kind !== "reset-after-apply-silently") {
      for (const copy of outcome.copies) await this.#copies.send(copy);
    }
    if (fault?.kind === "reset-after-apply" || fault?.kind === "reset-after-apply-silently") reset(res);
    else await answer(res, outcome.envelope);
  }

  /** Everything Yunxin checks, in order; a YunxinError anywhere means nothing was applied. */
  #handle(req: IncomingMessage, route: Route, url: URL, body: { bytes: Buffer; size: number }): Outcome {
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
      } else {
        verifyJsonContentType(req.headers);
        const json = parseBody(body);
        handled =
          route.api === "send"
            ? sendMessage(context, route.conversationId, json)
            : modifyMessage(context, json);
      }
      bump(this.#counters.applied, route.api);
      return { envelope: { code: Code.ok, msg: "success", data: handled.data }, copies: handled.copies };
    } catch (error) {
      if (!(error instanceof YunxinError)) throw error;
      if (error.code === Code.tooFrequent) bump(this.#counters.rateLimited, route.api);
      return { envelope: fail(error.code, error.msg), copies: [] };
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
  // The v2.1 path, and the older v2 one that still works (notes §5).
  const query = /^\/im\/v2(?:\.1)?\/conversations\/([^/]+)\/messages\/([^/]+)$/.exec(pathname);
  const queryId = decode(query?.[1]);
  const messageId = decode(query?.[2]);
  if (method === "GET" && queryId !== undefined && messageId !== undefined) {
    return { api: "queryMessage", conversationId: queryId, messageServerId: messageId };
  }
  return { api: "unknown" };
}

async function readBody(req: IncomingMessage): Promise<{ bytes: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Past the cap the rest is still read (and dropped): the answer is 414 either way.
    if (size <= REQUEST_LIMIT_BYTES) chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), size };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body must be a UTF-8 JSON object, its numbers kept exact (see json.ts); 414 otherwise. */
function parseBody(body: { bytes: Buffer; size: number }): JsonObject {
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

function bump(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

const fail = (code: number, msg: string): JsonObject => ({ code, msg, data: {} });

/** Writes the JSON answer (HTTP 200 always, notes §1.3); resolves when handed to the socket or it went away. */
function answer(res: ServerResponse, envelope: JsonObject): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  const text = JSON.stringify(envelope);
  return new Promise((resolve) => {
    res.once("close", resolve);
    res.writeHead(200, {
      "content-type": "application/json;charset=UTF-8",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text, resolve);
  });
}

/** What a gateway in front of Yunxin answers on trouble: an HTML page, not the JSON envelope. */
function gatewayPage(res: ServerResponse, status: number): void {
  const text = `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center></body></html>`;
  res.writeHead(status, { "content-type": "text/html", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A TCP reset, as when a connection drops mid-request; the client sees ECONNRESET / "other side closed". */
function reset(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && !socket.destroyed) socket.resetAndDestroy();
  else res.destroy();
}
