import {
  type AppError,
  ConflictError,
  NotFoundError,
  ProviderRejectedError,
  UnprocessableError,
} from "../../core/errors.ts";

/** Yunxin codes that mean "too frequent, back off" (416 frequency control, 107449 one edit per message per second). */
export const NETEASE_RATE_LIMITED = new Set([416, 107449]);
/**
 * The server took the request and gave up without saying what it did (netease-yunxin-notes §1.4):
 * 408 request timeout, 500 internal error, 503 busy, 514 service unavailable. None is documented as
 * "nothing was done". Reads send them again; modifyMsg reports an unknown outcome (settled by the copy
 * of our edit or a read-back), since Yunxin may show the new content.
 */
export const NETEASE_AMBIGUOUS = new Set([408, 500, 503, 514]);

/**
 * 414 is Yunxin's "parameter error" and also its answer to a refused AppKey / Nonce / CurTime / CheckSum
 * (notes §1.1, §1.4): the docs give no separate code, and the `msg` text is not a contract. Who sent it
 * decides what it means: `identity` when a signed read was refused the same way (our credentials or clock),
 * `parameters` when a signed read was accepted (the request's fields), undefined when nothing could tell.
 */
export type ParameterErrorMeaning = "identity" | "parameters";

export function neteaseError(code: number, msg: string, meaning?: ParameterErrorMeaning): AppError {
  const options = { providerCode: code };
  const said = msg ? `: ${msg}` : "";
  if (code === 414) {
    if (meaning === "parameters")
      return new UnprocessableError(`Yunxin refused the edit's parameters (414)${said}`, {
        ...options,
        code: "content_refused",
      });
    if (meaning === "identity")
      return new ProviderRejectedError(
        `Yunxin refused our AppKey, CheckSum or CurTime (414, also for a signed read)${said}`,
        options,
      );
    // Fallback, documented: a request im-edit built and checked against the documented rules, refused
    // for a reason nobody could tell, is reported as a refusal of our request (502), not of the content.
    return new ProviderRejectedError(
      `Yunxin answered 414 (a parameter error or a refused CheckSum; the code does not say which)${said}`,
      { ...options, details: { msg } },
    );
  }
  if (code === 404) return new NotFoundError(`Yunxin has no such message${said}`, options);
  if (code === 403)
    return new ConflictError(`Yunxin does not allow this operator to edit the message${said}`, {
      ...options,
      code: "not_permitted",
    });
  return new ProviderRejectedError(`Yunxin refused the request${said}`, options);
}
