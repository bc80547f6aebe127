import { createHash } from "node:crypto";
import type { Counter } from "../common/counter.ts";
import type { Signing } from "../common/sender.ts";

/** A callback to deliver: the command word and the body without `CallbackCommand` (added here). */
export interface CallbackJob {
  readonly command: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A callback on its way: the job and the IP of the REST client whose request triggered it. */
export interface Callback extends CallbackJob {
  readonly clientIp: string;
}

export interface CallbackSigningOptions {
  readonly sdkAppId: string;
  readonly callbackToken?: string;
  readonly now: () => number;
  readonly delivered: Counter;
  readonly failed: Counter;
}

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
 * Callbacks posted as Tencent does (by the shared Sender: one configured URL, a persistent connection,
 * 2 s to answer, tencent-chat-notes §1.2): the command in the query and the body, Sign and RequestTime
 * when a token is set. A failed delivery (network error, timeout, non-200, non-JSON answer, the failures
 * Tencent lists) is counted by command.
 */
export function callbackSigning(options: CallbackSigningOptions): Signing<Callback> {
  const { sdkAppId, callbackToken, now } = options;
  return {
    post(base, callback) {
      const url = new URL(base);
      url.searchParams.set("SdkAppid", sdkAppId);
      url.searchParams.set("CallbackCommand", callback.command);
      url.searchParams.set("contenttype", "json");
      url.searchParams.set("ClientIP", callback.clientIp);
      url.searchParams.set("OptPlatform", "RESTAPI");
      if (callbackToken !== undefined) {
        const requestTime = String(Math.floor(now() / 1000));
        url.searchParams.set("Sign", callbackSign(callbackToken, requestTime));
        url.searchParams.set("RequestTime", requestTime);
      }
      return {
        url,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ CallbackCommand: callback.command, ...callback.body }),
      };
    },
    accepts: isJson,
    delivered: (callback) => options.delivered.bump(callback.command),
    failed: (callback) => options.failed.bump(callback.command),
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
