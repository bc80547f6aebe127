import { randomInt } from "node:crypto";
import { Pool } from "undici";
import {
  asError,
  OutcomeUnknownError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "../../core/errors.ts";
import { type Clock, type RateLimiter, systemClock } from "../../core/limiter.ts";
import { RATE_LIMITED, RENEW_USERSIG, RETRYABLE, tencentError } from "./errors.ts";
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
  readonly connectTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
}

export interface CallOptions {
  /** Epoch ms; retries and rate waits stop there. */
  readonly deadline: number;
  /**
   * Whether a call that may have reached Tencent can be sent again. Reads: yes. Modifies: no, the
   * caller first finds out (echo, read-back) whether it was applied, so users never see it twice.
   */
  readonly resendAfterSend: boolean;
}

/** Pools are per base URL and per process: one keep-alive pool serves every call of a warm Lambda. */
const pools = new Map<string, Pool>();
function poolFor(origin: string, options: TencentRestOptions): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, {
      connections: 64,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      headersTimeout: options.headersTimeoutMs ?? 4_000,
      bodyTimeout: options.bodyTimeoutMs ?? 4_000,
      keepAliveTimeout: 30_000,
    });
    pools.set(origin, pool);
  }
  return pool;
}

/** Errors undici raises before any byte of the request could have reached the server. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * Tencent's REST convention: POST JSON to `/v4/<service>/<command>` with sdkappid, identifier, usersig,
 * a fresh 32-bit random and contenttype=json in the URL. The URL carries the UserSig, so it is never
 * logged or put into an error. Every attempt takes a slot from the shared limiter.
 */
export class TencentRestClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly clock: Clock;

  constructor(private readonly options: TencentRestOptions) {
    const base = new URL(options.baseUrl);
    this.pool = poolFor(base.origin, options);
    this.basePath = base.pathname.replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
  }

  async call(service: string, command: string, body: unknown, options: CallOptions): Promise<TencentReply> {
    const payload = JSON.stringify(body);
    let renewed = false;
    let attempt = 0;
    let lastFailure = "no attempt";
    let rateLimited = false;
    for (;;) {
      if (attempt > 0) {
        const pause = backoff(attempt, rateLimited);
        if (this.clock.now() + pause >= options.deadline) break;
        await this.clock.sleep(pause);
      }
      attempt++;
      const slot = await this.options.limiter.acquire(
        `tencent:${this.options.sdkAppId}:${command}`,
        Math.max(0, options.deadline - this.clock.now()),
      );
      let reply: TencentReply;
      try {
        reply = await this.send(service, command, payload);
      } catch (thrown: unknown) {
        const error = asError(thrown);
        const code = "code" in error && typeof error.code === "string" ? error.code : error.name;
        if (NOT_SENT.has(code)) {
          lastFailure = `network error before sending (${code})`;
          rateLimited = false;
          continue;
        }
        if (error instanceof ProviderRejectedError) throw error;
        if (error instanceof HttpStatusError) {
          lastFailure = `HTTP ${error.status}`;
          rateLimited = false;
          if (!options.resendAfterSend) throw outcomeUnknown(command, lastFailure);
          continue;
        }
        lastFailure = `no answer (${code})`;
        if (!options.resendAfterSend) throw outcomeUnknown(command, lastFailure);
        continue;
      } finally {
        slot.release();
      }
      if (reply.ErrorCode === 0) return reply;
      const code = reply.ErrorCode;
      if (RENEW_USERSIG.has(code) && !renewed) {
        // An expired or rejected UserSig gets one fresh signature, then it is a configuration problem.
        renewed = true;
        this.options.userSig.invalidate();
        attempt--;
        continue;
      }
      if (RETRYABLE.has(code) || RATE_LIMITED.has(code)) {
        lastFailure = `ErrorCode ${code}`;
        rateLimited = RATE_LIMITED.has(code);
        continue;
      }
      throw tencentError(code, reply.ErrorInfo ?? "");
    }
    throw new ProviderUnavailableError(
      `Tencent ${command} kept failing (${lastFailure}); nothing was applied`,
      {
        retryAfter: rateLimited ? 1 : 2,
        details: { attempts: attempt },
      },
    );
  }

  private async send(service: string, command: string, payload: string): Promise<TencentReply> {
    const query = new URLSearchParams({
      sdkappid: this.options.sdkAppId,
      identifier: this.options.identifier,
      usersig: this.options.userSig.get(),
      random: String(randomInt(0, 4_294_967_296)),
      contenttype: "json",
    });
    const response = await this.pool.request({
      method: "POST",
      path: `${this.basePath}/v4/${service}/${command}?${query}`,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: payload,
    });
    const text = await response.body.text(); // always consume the body: the socket goes back to the pool
    if (response.statusCode >= 500) throw new HttpStatusError(response.statusCode);
    if (response.statusCode !== 200) {
      throw new ProviderRejectedError(`Tencent answered HTTP ${response.statusCode} to ${command}`);
    }
    try {
      const reply = JSON.parse(text) as TencentReply;
      if (typeof reply.ErrorCode !== "number") throw new Error("no ErrorCode");
      return reply;
    } catch {
      throw new HttpStatusError(502);
    }
  }
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
    this.name = "HttpStatusError";
  }
}

const outcomeUnknown = (command: string, failure: string) =>
  new OutcomeUnknownError(`Tencent ${command} was sent but not answered (${failure})`, {
    details: { outcome: "unknown" },
  });

/** Full-jitter exponential backoff: 50 ms doubling, capped at 800 ms (2 s when Tencent says too frequent). */
function backoff(attempt: number, rateLimited: boolean): number {
  const cap = rateLimited ? 2_000 : 800;
  const ceiling = Math.min(cap, 50 * 2 ** attempt);
  return Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
}
