import { createHash, timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnauthorizedError } from "../../core/errors.ts";

export interface TencentCallbackAuth {
  readonly sdkAppId: string;
  /** The console's callback token; when set, `Sign` and `RequestTime` are mandatory. */
  readonly callbackToken?: string;
  /** Allowed distance between `RequestTime` and now, in seconds (Tencent: 1 minute). */
  readonly maxSkewSeconds: number;
}

/** `Sign` = lower-case hex sha256(token + RequestTime) (tencent-chat-notes §1.3). */
export function tencentSign(token: string, requestTime: string): string {
  return createHash("sha256")
    .update(token + requestTime)
    .digest("hex");
}

/**
 * Checks the callback's query string: the app id must be ours (403), and with a token the signature
 * must match in constant time and be fresh (401). Never echoes the signature or the token.
 */
export function verifyTencentQuery(
  query: Readonly<Record<string, string | undefined>>,
  auth: TencentCallbackAuth,
  now: Date,
): void {
  const appId = query.SdkAppid;
  if (appId === undefined || appId === "")
    throw new UnauthorizedError("SdkAppid is missing from the callback URL");
  if (appId !== auth.sdkAppId) throw new ForbiddenError("callback is for another SdkAppid");
  if (auth.callbackToken === undefined) return;

  const { Sign: sign, RequestTime: requestTime } = query;
  if (!sign || !requestTime)
    throw new UnauthorizedError("callback is not signed (Sign and RequestTime required)");
  if (!/^\d{1,12}$/.test(requestTime)) throw new UnauthorizedError("RequestTime is not a number of seconds");
  if (Math.abs(now.getTime() / 1000 - Number(requestTime)) > auth.maxSkewSeconds) {
    throw new UnauthorizedError("RequestTime is outside the allowed window", { code: "stale_signature" });
  }
  const expected = Buffer.from(tencentSign(auth.callbackToken, requestTime), "utf8");
  const given = Buffer.from(sign.toLowerCase(), "utf8");
  // timingSafeEqual needs equal lengths; a length mismatch is a mismatch, learned in constant time too.
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  if (!same) throw new UnauthorizedError("callback signature does not match", { code: "bad_signature" });
}
