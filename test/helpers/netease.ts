import { createHash } from "node:crypto";
import type { CallbackRequest } from "../../functions/core/provider.ts";
import { createNeteaseProvider } from "../../functions/providers/netease/provider.ts";

export const APP_KEY = "im-edit-test-appkey";
export const APP_SECRET = "test-app-secret";

export function neteaseProvider() {
  return createNeteaseProvider({ appKey: APP_KEY, appSecret: APP_SECRET, maxSkewMs: 10 * 60 * 1000 });
}

/** Headers Yunxin puts on a message copy of `body`, signed with APP_SECRET at `now`. */
export function copyHeaders(body: Uint8Array, now = Date.now(), secret = APP_SECRET): Record<string, string> {
  const md5 = createHash("md5").update(body).digest("hex");
  const curtime = String(now);
  const checksum = createHash("sha1")
    .update(secret + md5 + curtime)
    .digest("hex");
  return { appkey: APP_KEY, curtime, md5, checksum };
}

export function copyRequest(body: unknown, receivedAt = new Date()): CallbackRequest {
  const bytes = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return { query: {}, headers: copyHeaders(bytes, receivedAt.getTime()), body: bytes, receivedAt };
}
