import { createHash } from "node:crypto";
import { Agent, request } from "undici";
import type { Counter } from "./counter.ts";

/** A callback to deliver: the command word and the body without `CallbackCommand` (added here). */
export interface CallbackJob {
  readonly command: string;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface CallbackSenderOptions {
  readonly sdkAppId: string;
  readonly callbackToken?: string;
  readonly now: () => number;
  readonly delivered: Counter;
  readonly failed: Counter;
}

/** Tencent gives app servers 2 s to answer a callback (tencent-chat-notes §1.2). */
const CALLBACK_TIMEOUT_MS = 2_000;

/**
 * `Sign` = lower-case hex sha256(token + RequestTime) (§1.3). Written here rather than imported from
 * functions/: the simulator must not share the code under test, or a bug there would be invisible.
 */
export function callbackSign(token: string, requestTime: string): string {
  return createHash("sha256")
    .update(token + requestTime)
    .digest("hex");
}

/**
 * Posts callbacks as Tencent does: one configured URL, the command in the query and the body, Sign and
 * RequestTime when a token is set, a persistent connection, 2 s to answer. Never throws: a failed
 * delivery (network error, timeout, non-200, non-JSON answer, the failures Tencent lists) is counted.
 */
export class CallbackSender {
  readonly #options: CallbackSenderOptions;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  readonly #inFlight = new Set<Promise<void>>();
  #url: string | undefined;

  constructor(options: CallbackSenderOptions, url: string | undefined) {
    this.#options = options;
    this.#url = url;
  }

  setUrl(url: string | undefined): void {
    this.#url = url;
  }

  /** Resolves once the receiver answered or the delivery failed; no-op without a callback URL. */
  send(job: CallbackJob, clientIp: string): Promise<void> {
    const url = this.#url;
    if (url === undefined) return Promise.resolve();
    const delivery = this.#deliver(url, job, clientIp);
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
    return delivery;
  }

  /** Resolves when every callback started so far has settled (useful with `echo: "after-answer"`). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#agent.close();
  }

  async #deliver(base: string, job: CallbackJob, clientIp: string): Promise<void> {
    const { sdkAppId, callbackToken, now } = this.#options;
    try {
      const url = new URL(base);
      url.searchParams.set("SdkAppid", sdkAppId);
      url.searchParams.set("CallbackCommand", job.command);
      url.searchParams.set("contenttype", "json");
      url.searchParams.set("ClientIP", clientIp);
      url.searchParams.set("OptPlatform", "RESTAPI");
      if (callbackToken !== undefined) {
        const requestTime = String(Math.floor(now() / 1000));
        url.searchParams.set("Sign", callbackSign(callbackToken, requestTime));
        url.searchParams.set("RequestTime", requestTime);
      }
      const response = await request(url, {
        method: "POST",
        dispatcher: this.#agent,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ CallbackCommand: job.command, ...job.body }),
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || !isJson(text)) throw new Error(`answered ${response.statusCode}`);
      this.#options.delivered.bump(job.command);
    } catch {
      this.#options.failed.bump(job.command);
    }
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
