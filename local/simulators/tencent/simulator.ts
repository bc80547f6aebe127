import type { IncomingMessage } from "node:http";
import { Counter } from "../common/counter.ts";
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
  type Timing,
} from "../common/server.ts";
import { C2C_APIS } from "./c2c.ts";
import { type Callback, callbackSigning } from "./callbacks.ts";
import { Code, TencentError } from "./errors.ts";
import { checkErrorFault, type TencentErrorFault } from "./faults.ts";
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

export type EchoTiming = Timing;

export interface TencentSimulatorOptions extends ListenOptions {
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
  /**
   * How long C2C messages stay in roaming storage, in days (admin_getroammsg shows only those sent within
   * it, tencent-chat-notes §5.4); default 7, Tencent's default (the console can buy more).
   */
  readonly roamingDays?: number;
  /** Milliseconds clock for MsgTime, EventTime, RequestTime, UserSig expiry and rate limits. */
  readonly now?: () => number;
}

/**
 * Request counts by command name (the last path segment): `rateLimited` are the 60007 refusals,
 * `applied` the ErrorCode 0 answers.
 */
export interface TencentSimulatorStats extends RequestStats {
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
const UINT32_MAX = 4_294_967_295;
const DEFAULT_ROAMING_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Tencent Cloud Chat's REST API on loopback, for tests and the local stack: the URL, UserSig, rate and
 * body checks of the real service (tencent-chat-notes §4, §5, §6, §7), an in-memory message store, and
 * the message callbacks it triggers posted to the configured URL (§1, §2). Faults can be injected.
 */
export class TencentSimulator extends SimulatorServer<TencentErrorFault, Callback> {
  protected readonly sender: Sender<Callback>;
  readonly #options: TencentSimulatorOptions;
  readonly #now: () => number;
  readonly #echo: EchoTiming;
  readonly #store = new MessageStore();
  readonly #limiter: RateLimiter;
  readonly #callbacks = { delivered: new Counter(), failed: new Counter() };

  static async start(options: TencentSimulatorOptions): Promise<TencentSimulator> {
    checkOptions(options);
    return new TencentSimulator(options, await listen(options));
  }

  private constructor(options: TencentSimulatorOptions, listening: Listening) {
    super(listening, {
      name: "tencent",
      contentType: "application/json; charset=utf-8",
      // An unexpected error is answered like Tencent's 70500.
      internalCode: Code.internal,
      fail,
      errorText: (fault) => fault.info,
      checkErrorFault,
    });
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#echo = options.echo ?? "before-answer";
    this.#limiter = new RateLimiter(options.ratePerSecond ?? 200);
    const signing = callbackSigning({
      sdkAppId: options.sdkAppId,
      ...(options.callbackToken !== undefined ? { callbackToken: options.callbackToken } : {}),
      now: this.#now,
      delivered: this.#callbacks.delivered,
      failed: this.#callbacks.failed,
    });
    this.sender = new Sender(signing, options.callbackUrl);
  }

  setCallbackUrl(url: string | undefined): void {
    this.sender.setUrl(url);
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
    return {
      ...this.requestStats(),
      callbacksDelivered: this.#callbacks.delivered.snapshot(),
      callbackFailures: this.#callbacks.failed.snapshot(),
    };
  }

  /** The API is the command name, the last path segment. */
  protected route(req: IncomingMessage, url: URL, body: RequestBody): Routed<Callback> {
    const path = /^\/v4\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    return { api: path?.[2] ?? url.pathname, handle: () => this.#handle(req, url, path, body) };
  }

  /** Everything Tencent checks, in order; a TencentError anywhere means nothing was applied. */
  #handle(
    req: IncomingMessage,
    url: URL,
    path: RegExpExecArray | null,
    body: RequestBody,
  ): Outcome<Callback> {
    try {
      const nowMs = this.#now();
      if (req.method !== "POST") throw new TencentError(Code.urlParse, "only POST is supported");
      this.#authenticate(url.searchParams, nowMs);
      const spec = path === null ? undefined : APIS.get(`${path[1]}/${path[2]}`);
      if (spec === undefined) throw new TencentError(Code.badResource, `no such API: ${url.pathname}`);
      if (!this.#limiter.admit(spec.command, nowMs)) {
        this.requests.rateLimited.bump(spec.command);
        throw new TencentError(Code.rateLimited, "REST API call frequency exceeds the limit");
      }
      if (body.size > (spec.carriesMessage ? MESSAGE_LIMIT_BYTES : REQUEST_LIMIT_BYTES)) {
        throw new TencentError(Code.tooLarge, "request packet is larger than 12 KB");
      }
      const json = parseJson(body.bytes, spec.service === "openim" ? Code.json : Code.jsonParse);
      const handled = spec.handle(
        {
          admin: this.#options.adminIdentifier,
          nowMs,
          store: this.#store,
          roamingMs: (this.#options.roamingDays ?? DEFAULT_ROAMING_DAYS) * DAY_MS,
        },
        json,
      );
      this.requests.applied.bump(spec.command);
      const clientIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
      return {
        envelope: { ActionStatus: "OK", ErrorInfo: handled.info ?? "", ErrorCode: 0, ...handled.answer },
        notifications: (handled.callbacks ?? []).map((job) => ({ ...job, clientIp })),
        timing: spec.echoes ? this.#echo : "before-answer",
      };
    } catch (error: unknown) {
      if (!(error instanceof TencentError)) throw error;
      return { envelope: fail(error.code, error.info), notifications: [], timing: "none" };
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
  if (options.roamingDays !== undefined && !(options.roamingDays > 0)) {
    throw new RangeError("roamingDays must be > 0");
  }
  if (options.echo !== undefined && !["before-answer", "after-answer", "none"].includes(options.echo)) {
    throw new TypeError("echo must be before-answer, after-answer or none");
  }
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
