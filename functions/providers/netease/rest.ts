import { randomBytes } from "node:crypto";
import { OutcomeUnknownError } from "../../core/errors.ts";
import type { Clock, RateLimiter } from "../../core/limiter.ts";
import { type AttemptResult, exchange, ProviderHttp, type RawResponse } from "../http-call.ts";
import { NETEASE_AMBIGUOUS, NETEASE_RATE_LIMITED, neteaseError } from "./errors.ts";
import { sha1Hex } from "./verify.ts";

export interface NeteaseReply {
  readonly code: number;
  readonly msg?: string;
  readonly data?: Record<string, unknown>;
}

export interface NeteaseRestOptions {
  /** Requests go to `${baseUrl}/im/v2/…` (default the region's `…/nimserver` gateway, or a simulator). */
  readonly baseUrl: string;
  readonly appKey: string;
  readonly appSecret: string;
  readonly limiter: RateLimiter;
  readonly clock?: Clock;
  readonly now?: () => number;
}

export interface NeteaseCallOptions {
  readonly operation: string;
  readonly deadline: number;
  readonly resendAfterSend: boolean;
  readonly rateKeys: readonly string[];
}

/**
 * Yunxin's v2 API convention (netease-yunxin-notes §1.1): headers AppKey, a fresh Nonce, CurTime in
 * **seconds** and CheckSum = sha1hex(AppSecret + Nonce + CurTime); JSON bodies; `{code, msg, data}`.
 */
export class NeteaseRestClient {
  private readonly baseUrl: URL;
  private readonly http: ProviderHttp;

  constructor(private readonly options: NeteaseRestOptions) {
    this.baseUrl = new URL(options.baseUrl);
    this.http = new ProviderHttp(options.limiter, options.clock);
  }

  /** `body` is already serialized: ids go out as exact JSON numbers (JSON.rawJSON). */
  async call(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    options: NeteaseCallOptions,
  ): Promise<NeteaseReply> {
    return this.http.call(
      {
        provider: "Yunxin",
        operation: options.operation,
        deadline: options.deadline,
        resendAfterSend: options.resendAfterSend,
        rateKeys: options.rateKeys,
      },
      () =>
        exchange(this.baseUrl, {
          method,
          path,
          headers: this.headers(),
          ...(body !== undefined ? { body } : {}),
        }),
      (response): AttemptResult<NeteaseReply> => {
        const reply = parseReply(response);
        if (reply === undefined) {
          if (!options.resendAfterSend)
            throw new OutcomeUnknownError(`Yunxin ${options.operation} answered unreadably`);
          return { retry: "transient", reason: "unreadable answer" };
        }
        if (reply.code === 200) return { value: reply };
        if (NETEASE_RATE_LIMITED.has(reply.code)) return { retry: "rate", reason: `code ${reply.code}` };
        if (NETEASE_AMBIGUOUS.has(reply.code)) {
          // Yunxin may have applied it: a modify is never sent again nor reported as not applied.
          if (!options.resendAfterSend) {
            throw new OutcomeUnknownError(
              `Yunxin answered ${options.operation} with ${reply.code}${reply.msg ? ` (${reply.msg})` : ""}, which does not say whether it was applied`,
              { providerCode: reply.code, details: { outcome: "unknown", providerCode: reply.code } },
            );
          }
          return { retry: "transient", reason: `code ${reply.code}` };
        }
        throw neteaseError(reply.code, reply.msg ?? "");
      },
    );
  }

  private headers(): Record<string, string> {
    const nonce = randomBytes(16).toString("hex");
    const curTime = String(Math.floor((this.options.now ?? Date.now)() / 1000));
    return {
      appkey: this.options.appKey,
      nonce,
      curtime: curTime,
      checksum: sha1Hex(this.options.appSecret + nonce + curTime),
      "content-type": "application/json;charset=UTF-8",
    };
  }
}

/** Parses `{code, msg, data}`, keeping big integers (ids) exact as strings. */
function parseReply(response: RawResponse): NeteaseReply | undefined {
  try {
    const reply = JSON.parse(response.text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === "number" &&
      !Number.isSafeInteger(value) &&
      context?.source !== undefined &&
      /^-?\d+$/.test(context.source)
        ? context.source
        : value,
    ) as NeteaseReply;
    return typeof reply.code === "number" ? reply : undefined;
  } catch {
    return undefined;
  }
}
