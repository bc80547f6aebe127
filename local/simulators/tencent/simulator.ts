import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { C2C_APIS } from "./c2c.ts";
import { type CallbackJob, CallbackSender } from "./callbacks.ts";
import { Counter } from "./counter.ts";
import { Code, TencentError } from "./errors.ts";
import { FaultQueue, type TencentFault } from "./faults.ts";
import type { JsonObject } from "./fields.ts";
import { GROUP_APIS, isGroupType } from "./group.ts";
import type { ApiSpec } from "./handler.ts";
import { RateLimiter } from "./rate.ts";
import {
  type GroupType,
  MessageStore,
  type StoredC2CMessage,
  type StoredGroupMessage,
  snapshot,
} from "./store.ts";
import { verifyUserSig } from "./usersig.ts";

export type EchoTiming = "before-answer" | "after-answer" | "none";

export interface TencentSimulatorOptions {
  readonly sdkAppId: string;
  /** Verifies UserSigs (HMAC key, as in the console). */
  readonly secretKey: string;
  /** The only identifier allowed to call the REST API (the App admin). */
  readonly adminIdentifier: string;
  /** Recorder base URL, e.g. http://127.0.0.1:3000/callbacks/tencent; no callbacks when unset. */
  readonly callbackUrl?: string;
  /** When set, callbacks carry Sign/RequestTime as Tencent's do. */
  readonly callbackToken?: string;
  /** Per API; default 200 (Tencent's default). Above it: 60007. */
  readonly ratePerSecond?: number;
  /**
   * When the after-modify callback is sent relative to the modify answer: "before-answer" (default; the
   * answer waits for the receiver, at most 2 s), "after-answer", or "none" (no after-modify callback).
   * Other callbacks (send, recall) are always delivered before the answer.
   */
  readonly echo?: EchoTiming;
  readonly host?: string;
  readonly port?: number;
  /** Milliseconds clock for MsgTime, EventTime, RequestTime, UserSig expiry and rate limits. */
  readonly now?: () => number;
}

export interface TencentSimulatorStats {
  /** Every request that arrived, by command name (last path segment). */
  readonly calls: Readonly<Record<string, number>>;
  /** Requests refused with 60007. */
  readonly rateLimited: Readonly<Record<string, number>>;
  /** Requests handled with ErrorCode 0 (for writes: the change took effect), answered or not. */
  readonly applied: Readonly<Record<string, number>>;
  /** Requests that consumed an injected fault. */
  readonly faulted: Readonly<Record<string, number>>;
  /** Callbacks the receiver answered with HTTP 200 and JSON, by CallbackCommand. */
  readonly callbacksDelivered: Readonly<Record<string, number>>;
  /** Callbacks that failed (network, timeout, non-200, non-JSON), by CallbackCommand. */
  readonly callbackFailures: Readonly<Record<string, number>>;
}

export type { TencentFault } from "./faults.ts";
export type { GroupType, StoredC2CMessage, StoredGroupMessage, StoredMessage } from "./store.ts";

const APIS: ReadonlyMap<string, ApiSpec> = new Map(
  [...C2C_APIS, ...GROUP_APIS].map((spec) => [`${spec.service}/${spec.command}`, spec]),
);

/** Send and modify requests above 12 KB are refused (93000, §4.4); other bodies get a generous cap. */
const MESSAGE_LIMIT_BYTES = 12 * 1024;
const REQUEST_LIMIT_BYTES = 1024 * 1024;
const UINT32_MAX = 4_294_967_295;

interface Outcome {
  readonly envelope: JsonObject;
  readonly callbacks: readonly CallbackJob[];
  readonly timing: EchoTiming;
}

/**
 * Tencent Cloud Chat's REST API on loopback, for tests and the local stack: the URL, UserSig, rate and
 * body checks of the real service (tencent-chat-notes §4, §5, §6, §7), an in-memory message store, and
 * the message callbacks it triggers posted to the configured URL (§1, §2). Faults can be injected.
 */
export class TencentSimulator {
  readonly url: string;
  readonly #options: TencentSimulatorOptions;
  readonly #server: Server;
  readonly #now: () => number;
  readonly #echo: EchoTiming;
  readonly #store = new MessageStore();
  readonly #faults = new FaultQueue();
  readonly #limiter: RateLimiter;
  readonly #callbacks: CallbackSender;
  readonly #closing = new AbortController();
  readonly #counters = {
    calls: new Counter(),
    rateLimited: new Counter(),
    applied: new Counter(),
    faulted: new Counter(),
    callbacksDelivered: new Counter(),
    callbackFailures: new Counter(),
  };
  #closed: Promise<void> | undefined;

  static async start(options: TencentSimulatorOptions): Promise<TencentSimulator> {
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
    return new TencentSimulator(options, server, `http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  }

  private constructor(options: TencentSimulatorOptions, server: Server, url: string) {
    this.url = url;
    this.#options = options;
    this.#server = server;
    this.#now = options.now ?? Date.now;
    this.#echo = options.echo ?? "before-answer";
    this.#limiter = new RateLimiter(options.ratePerSecond ?? 200);
    this.#callbacks = new CallbackSender(
      {
        sdkAppId: options.sdkAppId,
        ...(options.callbackToken !== undefined ? { callbackToken: options.callbackToken } : {}),
        now: this.#now,
        delivered: this.#counters.callbacksDelivered,
        failed: this.#counters.callbackFailures,
      },
      options.callbackUrl,
    );
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.#serve(req, res).catch((error: unknown) => {
        // Handlers refuse with TencentError; anything else is a simulator bug, answered like Tencent's 70500.
        const reason = error instanceof Error ? error.message : String(error);
        process.stderr.write(`tencent simulator error: ${reason}\n`);
        if (!res.headersSent && !res.destroyed) answer(res, fail(Code.internal, "internal error"));
      });
    });
  }

  setCallbackUrl(url: string | undefined): void {
    if (url !== undefined) new URL(url);
    this.#callbacks.setUrl(url);
  }

  /** Queues a fault; faults are consumed in order, `times` (default 1) each, by requests they match. */
  inject(fault: TencentFault): void {
    this.#faults.add(fault);
  }

  /** Injected faults not consumed yet. */
  get pendingFaults(): number {
    return this.#faults.size;
  }

  /** Test back door: creates a group without REST validation (use create_group to test those). */
  createGroup(groupId: string, type: GroupType = "Public", name = groupId): void {
    if (!isGroupType(type)) throw new TypeError(`unknown group type ${String(type)}`);
    if (groupId === "") throw new TypeError("groupId must not be empty");
    if (this.#store.group(groupId) !== undefined) throw new Error(`group ${groupId} already exists`);
    this.#store.addGroup(groupId, type, name);
  }

  c2cMessage(from: string, to: string, msgKey: string): StoredC2CMessage | undefined {
    const record = this.#store.c2c(from, to, msgKey);
    return record === undefined ? undefined : snapshot(record);
  }

  groupMessage(groupId: string, topicId: string | undefined, msgSeq: number): StoredGroupMessage | undefined {
    const group = this.#store.group(groupId);
    const record = group && this.#store.groupMessage(group, topicId || undefined, msgSeq);
    return record === undefined ? undefined : snapshot(record);
  }

  get stats(): TencentSimulatorStats {
    const c = this.#counters;
    return {
      calls: c.calls.snapshot(),
      rateLimited: c.rateLimited.snapshot(),
      applied: c.applied.snapshot(),
      faulted: c.faulted.snapshot(),
      callbacksDelivered: c.callbacksDelivered.snapshot(),
      callbackFailures: c.callbackFailures.snapshot(),
    };
  }

  /** Resolves once every callback sent so far has been answered or has failed. */
  idle(): Promise<void> {
    return this.#callbacks.idle();
  }

  /** Stops listening, drops open connections, lets started callbacks finish (≤ 2 s each). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
      await this.#callbacks.close();
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
    const path = /^\/v4\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const api = path?.[2] ?? url.pathname;
    this.#counters.calls.bump(api);

    const fault = this.#faults.take(api);
    if (fault !== undefined) this.#counters.faulted.bump(api);
    switch (fault?.kind) {
      case "error":
        return answer(res, fail(fault.code, fault.info ?? "injected fault"));
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

    const handled = this.#handle(req.method, url, path, body);
    const outcome =
      fault?.kind === "reset-after-apply-silently" ? { ...handled, timing: "none" as const } : handled;
    const clientIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
    const deliver = async () => {
      for (const job of outcome.callbacks) await this.#callbacks.send(job, clientIp);
    };
    if (outcome.timing === "before-answer") await deliver();
    if (fault?.kind === "reset-after-apply" || fault?.kind === "reset-after-apply-silently") reset(res);
    else await answer(res, outcome.envelope);
    if (outcome.timing === "after-answer") void deliver();
  }

  /** Everything Tencent checks, in order; a TencentError anywhere means nothing was applied. */
  #handle(
    method: string | undefined,
    url: URL,
    path: RegExpExecArray | null,
    body: { bytes: Buffer; size: number },
  ): Outcome {
    try {
      const nowMs = this.#now();
      if (method !== "POST") throw new TencentError(Code.urlParse, "only POST is supported");
      this.#authenticate(url.searchParams, nowMs);
      const spec = path === null ? undefined : APIS.get(`${path[1]}/${path[2]}`);
      if (spec === undefined) throw new TencentError(Code.badResource, `no such API: ${url.pathname}`);
      if (!this.#limiter.admit(spec.command, nowMs)) {
        this.#counters.rateLimited.bump(spec.command);
        throw new TencentError(Code.rateLimited, "REST API call frequency exceeds the limit");
      }
      if (body.size > (spec.carriesMessage ? MESSAGE_LIMIT_BYTES : REQUEST_LIMIT_BYTES)) {
        throw new TencentError(Code.tooLarge, "request packet is larger than 12 KB");
      }
      const json = parseJson(body.bytes, spec.service === "openim" ? Code.json : Code.jsonParse);
      const handled = spec.handle({ admin: this.#options.adminIdentifier, nowMs, store: this.#store }, json);
      this.#counters.applied.bump(spec.command);
      return {
        envelope: { ActionStatus: "OK", ErrorInfo: handled.info ?? "", ErrorCode: 0, ...handled.answer },
        callbacks: handled.callbacks ?? [],
        timing: spec.echoes ? this.#echo : "before-answer",
      };
    } catch (error: unknown) {
      if (!(error instanceof TencentError)) throw error;
      return { envelope: fail(error.code, error.info), callbacks: [], timing: "none" };
    }
  }

  /** The URL parameters of §4.1, then the UserSig (§7.2), then the admin rule. */
  #authenticate(query: URLSearchParams, nowMs: number): void {
    const { sdkAppId, adminIdentifier, secretKey } = this.#options;
    const appId = query.get("sdkappid");
    if (appId === null || appId === "") throw new TencentError(Code.appIdMissing, "sdkappid is missing");
    if (!/^\d{1,20}$/.test(appId)) throw new TencentError(Code.urlParam, "sdkappid is not a number");
    const identifier = query.get("identifier");
    if (!identifier) throw new TencentError(Code.urlParam, "identifier is missing");
    const userSig = query.get("usersig");
    if (!userSig) throw new TencentError(Code.urlParam, "usersig is missing");
    const random = query.get("random");
    if (random === null || !/^\d{1,10}$/.test(random) || Number(random) > UINT32_MAX) {
      throw new TencentError(Code.urlParse, "random must be a 32-bit unsigned integer");
    }
    if (query.get("contenttype") !== "json")
      throw new TencentError(Code.urlParam, "contenttype must be json");
    // One simulator serves one app: any other SDKAppID is unknown here.
    if (appId !== sdkAppId) throw new TencentError(Code.appIdInvalid, "SDKAppID is invalid");
    const verdict = verifyUserSig(userSig, { sdkAppId, identifier, secretKey, nowMs });
    if (!verdict.ok) throw new TencentError(verdict.code, verdict.info);
    if (identifier !== adminIdentifier)
      throw new TencentError(Code.needsAdmin, "identifier must be an App admin");
  }
}

function checkOptions(options: TencentSimulatorOptions): void {
  if (!/^\d{1,20}$/.test(options.sdkAppId)) throw new TypeError("sdkAppId must be a decimal SDKAppID");
  if (options.secretKey === "") throw new TypeError("secretKey must not be empty");
  if (options.adminIdentifier === "") throw new TypeError("adminIdentifier must not be empty");
  if (options.callbackUrl !== undefined) new URL(options.callbackUrl);
  if (options.echo !== undefined && !["before-answer", "after-answer", "none"].includes(options.echo)) {
    throw new TypeError("echo must be before-answer, after-answer or none");
  }
}

async function readBody(req: IncomingMessage): Promise<{ bytes: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Past the cap the rest is still read (and dropped): the answer is 93000 either way.
    if (size <= REQUEST_LIMIT_BYTES) chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), size };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body must be a JSON object; openim answers 90001 otherwise, the group service 60003. */
function parseJson(bytes: Buffer, code: number): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new TencentError(code, "request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TencentError(code, "request body is not a JSON object");
  }
  return value as JsonObject;
}

const fail = (code: number, info: string): JsonObject => ({
  ActionStatus: "FAIL",
  ErrorInfo: info,
  ErrorCode: code,
});

/** Writes the JSON answer; resolves when it was handed to the socket (or the socket went away). */
function answer(res: ServerResponse, envelope: JsonObject): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  const text = JSON.stringify(envelope);
  return new Promise((resolve) => {
    res.once("close", resolve);
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text, resolve);
  });
}

/** What a gateway in front of Tencent answers on trouble: an HTML page, not the JSON envelope. */
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
