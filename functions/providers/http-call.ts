import type { Pool } from "undici";
import {
  asError,
  OutcomeUnknownError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "../core/errors.ts";
import { type Clock, type RateLimiter, type RateSlot, systemClock } from "../core/limiter.ts";

/**
 * What every provider client shares: one keep-alive pool per origin and process, timeouts, bodies always
 * consumed, one limiter slot per attempt, jittered backoff inside a deadline, and the line between
 * "not sent" (safe to send again) and "sent, no answer" (the outcome is unknown).
 */
export interface AttemptResult<T> {
  /** The provider's answer when it settles the call. */
  readonly value?: T;
  /** Set when the provider asked to try again: `rate` for its frequency control, `now` to retry at once. */
  readonly retry?: "transient" | "rate" | "now";
  readonly reason?: string;
}

export interface CallPolicy {
  readonly provider: string;
  readonly operation: string;
  /** Epoch ms; retries and rate waits stop there. */
  readonly deadline: number;
  /** Whether a call that may have reached the provider can be sent again (reads: yes; modifies: no). */
  readonly resendAfterSend: boolean;
  /** Limiter keys each attempt needs a slot of (app-wide API rate, per-message rate...). */
  readonly rateKeys: readonly string[];
}

export interface RawResponse {
  readonly status: number;
  readonly text: string;
}

const pools = new Map<string, Pool>();

/**
 * undici is loaded on the first call out, not when the function is imported: it would be most of the
 * editor's bundle, and reads, lists and the recorder never need it (`npm run bench -- bundle`). Deployed,
 * it is a file of its own beside the bundle (infra/constructs/bundling.ts `LAZY_PACKAGES`), CommonJS like
 * the package: its exports are read from `default`, its `module.exports`.
 */
let undici: Promise<typeof import("undici")["default"]> | undefined;

export async function poolFor(origin: string): Promise<Pool> {
  let pool = pools.get(origin);
  if (!pool) {
    undici ??= import("undici").then((module) => module.default);
    const { Pool } = await undici;
    // Another call may have made it while this one waited for the module.
    pool = pools.get(origin);
    if (pool) return pool;
    pool = new Pool(origin, {
      connections: 64,
      connectTimeout: 2_000,
      headersTimeout: 4_000,
      bodyTimeout: 4_000,
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

export class ProviderHttp {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Runs `send` (one HTTP exchange) and `interpret` (the provider's verdict on the answer) until the
   * answer settles the call or the deadline passes. `interpret` throws typed errors for refusals.
   */
  async call<T>(
    policy: CallPolicy,
    send: () => Promise<RawResponse>,
    interpret: (response: RawResponse) => AttemptResult<T>,
  ): Promise<T> {
    let attempt = 0;
    let lastFailure = "no attempt";
    let rateLimited = false;
    let immediate = false;
    for (;;) {
      if (attempt > 0 && !immediate) {
        const pause = backoff(attempt, rateLimited);
        if (this.clock.now() + pause >= policy.deadline) break;
        await this.clock.sleep(pause);
      }
      immediate = false;
      attempt++;
      const slots = await this.acquire(policy);
      let response: RawResponse;
      try {
        response = await send();
      } catch (thrown: unknown) {
        const error = asError(thrown);
        const code = "code" in error && typeof error.code === "string" ? error.code : error.name;
        rateLimited = false;
        if (NOT_SENT.has(code)) {
          lastFailure = `network error before sending (${code})`;
          continue;
        }
        lastFailure = `no answer (${code})`;
        if (!policy.resendAfterSend) throw unknown(policy, lastFailure);
        continue;
      } finally {
        await Promise.all(slots.map((slot) => slot.release()));
      }
      if (response.status >= 500) {
        lastFailure = `HTTP ${response.status}`;
        rateLimited = false;
        if (!policy.resendAfterSend) throw unknown(policy, lastFailure);
        continue;
      }
      if (response.status !== 200) {
        throw new ProviderRejectedError(
          `${policy.provider} answered HTTP ${response.status} to ${policy.operation}`,
        );
      }
      const verdict = interpret(response);
      if (verdict.retry === undefined) return verdict.value as T;
      lastFailure = verdict.reason ?? "retryable answer";
      rateLimited = verdict.retry === "rate";
      immediate = verdict.retry === "now";
    }
    throw new ProviderUnavailableError(
      `${policy.provider} ${policy.operation} kept failing (${lastFailure}); nothing was applied`,
      { retryAfter: rateLimited ? 1 : 2, details: { attempts: attempt } },
    );
  }

  private async acquire(policy: CallPolicy): Promise<RateSlot[]> {
    const slots: RateSlot[] = [];
    try {
      for (const key of policy.rateKeys) {
        slots.push(await this.limiter.acquire(key, Math.max(0, policy.deadline - this.clock.now())));
      }
      return slots;
    } catch (error: unknown) {
      await Promise.all(slots.map((slot) => slot.release()));
      throw error;
    }
  }
}

/** Sends one request on the origin's pool and reads the whole body (the socket then returns to the pool). */
export async function exchange(
  baseUrl: URL,
  request: { method: "GET" | "POST"; path: string; headers: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const response = await (await poolFor(baseUrl.origin)).request({
    method: request.method,
    path: `${baseUrl.pathname.replace(/\/+$/, "")}${request.path}`,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

const unknown = (policy: CallPolicy, failure: string) =>
  new OutcomeUnknownError(`${policy.provider} ${policy.operation} was sent but not answered (${failure})`, {
    details: { outcome: "unknown" },
  });

/** Full-jitter exponential backoff: 50 ms doubling, capped at 800 ms (2 s when the provider says too frequent). */
function backoff(attempt: number, rateLimited: boolean): number {
  const cap = rateLimited ? 2_000 : 800;
  const ceiling = Math.min(cap, 50 * 2 ** attempt);
  return Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
}
