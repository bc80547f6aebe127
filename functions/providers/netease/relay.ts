import { MisconfiguredError } from "../../core/errors.ts";
import type { CallbackRelay } from "../../core/relay.ts";
import { md5Hex, sha1Hex } from "./verify.ts";

/** Where and how Yunxin message copies are forwarded (NETEASE_CALLBACK_FORWARD_URL and its secret). */
export interface NeteaseForwardSettings {
  /** The app's own message-copy handler. */
  readonly url: string;
  /** The app's AppSecret (NETEASE_FORWARD_APP_SECRET, else NETEASE_APP_SECRET): signs each forward. */
  readonly appSecret?: string;
  /** The variable of a secret that cannot be used: every forward is refused, never signed with an empty key. */
  readonly unusable?: string;
}

/**
 * Yunxin's part of the relay: the copy's signature headers travel (`AppKey`, `CurTime`, `MD5`, `CheckSum`),
 * re-signed at each attempt: CurTime now (ms), MD5 of the unchanged body, CheckSum = sha1(AppSecret + MD5
 * + CurTime) (netease-yunxin-notes §3.2). Copies come after the send: never synchronous, nothing to decide.
 */
export function neteaseRelay(settings: NeteaseForwardSettings): CallbackRelay {
  return {
    url: settings.url,
    headers: ["appkey", "curtime", "md5", "checksum"],
    synchronous: () => false,
    sign: (forward, now) => {
      const secret = settings.appSecret;
      if (settings.unusable !== undefined || secret === undefined || secret === "") {
        throw new MisconfiguredError(
          `netease forwards are refused: ${settings.unusable ?? "NETEASE_FORWARD_APP_SECRET"} is unusable`,
        );
      }
      const curtime = String(now.getTime());
      const md5 = md5Hex(forward.body);
      return {
        rawQuery: forward.rawQuery,
        headers: { ...forward.headers, curtime, md5, checksum: sha1Hex(secret + md5 + curtime) },
      };
    },
  };
}
