import {
  type AppError,
  ConflictError,
  NotFoundError,
  ProviderRejectedError,
  UnprocessableError,
} from "../../core/errors.ts";

/** Yunxin codes that mean "too frequent, back off" (416 frequency control, 107449 one edit per message per second). */
export const NETEASE_RATE_LIMITED = new Set([416, 107449]);
/** The server answered but could not do it now: safe to send again. */
export const NETEASE_RETRYABLE = new Set([408, 500, 503, 514]);

export function neteaseError(code: number, msg: string): AppError {
  const options = { providerCode: code };
  const said = msg ? `: ${msg}` : "";
  if (code === 414) {
    // 414 is Yunxin's "parameter error", which also covers a CheckSum it refused: that one is ours to fix.
    if (/checksum|curtime|nonce|appkey/i.test(msg))
      return new ProviderRejectedError(`Yunxin refused our signature${said}`, options);
    return new UnprocessableError(`Yunxin refused the edit${said}`, { ...options, code: "content_refused" });
  }
  if (code === 404) return new NotFoundError(`Yunxin has no such message${said}`, options);
  if (code === 403)
    return new ConflictError(`Yunxin does not allow this operator to edit the message${said}`, {
      ...options,
      code: "not_permitted",
    });
  return new ProviderRejectedError(`Yunxin refused the request${said}`, options);
}
