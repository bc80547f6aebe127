import { createHash, timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnauthorizedError } from "../../core/errors.ts";

export interface NeteaseCopyAuth {
  readonly appKey: string;
  readonly appSecret: string;
  /** Allowed distance between `CurTime` (milliseconds) and now. */
  readonly maxSkewMs: number;
}

export const md5Hex = (body: Uint8Array): string => createHash("md5").update(body).digest("hex");
export const sha1Hex = (text: string): string => createHash("sha1").update(text).digest("hex");

/** Equal strings in constant time (hex digests: compared lower-cased). */
function same(given: string, expected: string): boolean {
  const a = Buffer.from(given.toLowerCase(), "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies a message copy (消息抄送) on its raw bytes (netease-yunxin-notes §3.2): `MD5` must be the md5
 * of the body, `CheckSum` = sha1hex(AppSecret + MD5 + CurTime), `CurTime` in **milliseconds** inside the
 * window, and `AppKey`, when sent, ours (else 403).
 */
export function verifyNeteaseCopy(
  headers: Readonly<Record<string, string | undefined>>,
  body: Uint8Array,
  auth: NeteaseCopyAuth,
  now: Date,
): void {
  const appKey = headers.appkey;
  if (appKey !== undefined && appKey !== auth.appKey)
    throw new ForbiddenError("message copy is for another AppKey");
  const { md5, checksum, curtime } = headers;
  if (!md5 || !checksum || !curtime)
    throw new UnauthorizedError("message copy is not signed (MD5, CheckSum, CurTime required)");
  if (!/^\d{1,16}$/.test(curtime)) throw new UnauthorizedError("CurTime is not a number of milliseconds");
  if (Math.abs(now.getTime() - Number(curtime)) > auth.maxSkewMs) {
    throw new UnauthorizedError("CurTime is outside the allowed window", { code: "stale_signature" });
  }
  if (!same(md5, md5Hex(body)))
    throw new UnauthorizedError("MD5 does not match the body", { code: "bad_signature" });
  if (!same(checksum, sha1Hex(auth.appSecret + md5 + curtime))) {
    throw new UnauthorizedError("message copy signature does not match", { code: "bad_signature" });
  }
}
