import { randomInt } from "node:crypto";
import { OutcomeUnknownError } from "../../core/errors.ts";
import type { Clock, RateLimiter } from "../../core/limiter.ts";
import { type AttemptResult, exchange, ProviderHttp, type RawResponse } from "../http-call.ts";
import { AMBIGUOUS, RATE_LIMITED, RENEW_USERSIG, RETRYABLE, tencentError } from "./errors.ts";
import type { UserSigCache } from "./usersig.ts";

export interface TencentReply {
  readonly ActionStatus: string;
  readonly ErrorCode: number;
  readonly ErrorInfo?: string;
  readonly RequestId?: string;
  readonly [field: string]: unknown;
}

export interface TencentRestOptions {
  /** `https://<domain>` or a simulator; requests go to `${baseUrl}/v4/<service>/<command>`. */
  readonly baseUrl: string;
  readonly sdkAppId: string;
  readonly identifier: string;
  readonly userSig: UserSigCache;
  readonly limiter: RateLimiter;
  readonly clock?: Clock;
}

export interface CallOptions {
  /** Epoch ms; retries and rate waits stop there. */
  readonly deadline: number;
  /** Reads: yes. Modifies: no, the caller first finds out (echo, read-back) whether it was applied. */
  readonly resendAfterSend: boolean;
}

/**
 * Tencent's REST convention: POST JSON to `/v4/<service>/<command>` with sdkappid, identifier, usersig,
 * a fresh 32-bit random and contenttype=json in the URL. The URL carries the UserSig, so it is never
 * logged or put into an error.
 */
export class TencentRestClient {
  private readonly baseUrl: URL;
  private readonly http: ProviderHttp;

  constructor(private readonly options: TencentRestOptions) {
    this.baseUrl = new URL(options.baseUrl);
    this.http = new ProviderHttp(options.limiter, options.clock);
  }

  async call(service: string, command: string, body: unknown, options: CallOptions): Promise<TencentReply> {
    const payload = JSON.stringify(body);
    let renewed = false;
    return this.http.call(
      {
        provider: "Tencent",
        operation: command,
        deadline: options.deadline,
        resendAfterSend: options.resendAfterSend,
        rateKeys: [`tencent:${this.options.sdkAppId}:${command}`],
      },
      () => exchange(this.baseUrl, this.request(service, command, payload)),
      (response): AttemptResult<TencentReply> => {
        const reply = parseReply(response);
        if (reply === undefined) {
          // An unreadable 200 may still have been applied: only reads are sent again.
          if (!options.resendAfterSend)
            throw new OutcomeUnknownError(`Tencent ${command} answered unreadably`);
          return { retry: "transient", reason: "unreadable answer" };
        }
        const code = reply.ErrorCode;
        if (code === 0) return { value: reply };
        if (RENEW_USERSIG.has(code) && !renewed) {
          // An expired or rejected UserSig gets one fresh signature, then it is a configuration problem.
          renewed = true;
          this.options.userSig.invalidate();
          return { retry: "now", reason: `ErrorCode ${code}` };
        }
        if (RATE_LIMITED.has(code)) return { retry: "rate", reason: `ErrorCode ${code}` };
        if (RETRYABLE.has(code)) return { retry: "transient", reason: `ErrorCode ${code}` };
        if (AMBIGUOUS.has(code)) {
          // Tencent may have applied it: a modify is never sent again nor reported as not applied.
          if (!options.resendAfterSend) {
            throw new OutcomeUnknownError(
              `Tencent answered ${command} with ${code}${reply.ErrorInfo ? ` (${reply.ErrorInfo})` : ""}, which does not say whether it was applied`,
              { providerCode: code, details: { outcome: "unknown", providerCode: code } },
            );
          }
          return { retry: "transient", reason: `ErrorCode ${code}` };
        }
        throw tencentError(code, reply.ErrorInfo ?? "");
      },
    );
  }

  private request(service: string, command: string, payload: string) {
    const query = new URLSearchParams({
      sdkappid: this.options.sdkAppId,
      identifier: this.options.identifier,
      usersig: this.options.userSig.get(),
      random: String(randomInt(0, 4_294_967_296)),
      contenttype: "json",
    });
    return {
      method: "POST" as const,
      path: `/v4/${service}/${command}?${query}`,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: payload,
    };
  }
}

function parseReply(response: RawResponse): TencentReply | undefined {
  try {
    const reply = JSON.parse(response.text) as TencentReply;
    return typeof reply.ErrorCode === "number" ? reply : undefined;
  } catch {
    return undefined;
  }
}
