import {
  type AppError,
  ConflictError,
  NotFoundError,
  ProviderRejectedError,
  UnprocessableError,
} from "../../core/errors.ts";

/**
 * How each Tencent error code is handled (tencent-chat-notes §4.4 and the modify pages). Codes not
 * listed are terminal and reported as the provider's refusal (502) with the code kept.
 */
export const RENEW_USERSIG = new Set([20002, 70001, 70003]);
/**
 * Answers that do not say whether the request was carried out: the service gave up somewhere after
 * receiving it. 60008 "service timeout", 70169 "internal timeout", 70500 / 91000 / 20005 / 10002
 * "internal error, retry", 20004 "network exception, retry" (a fault between Tencent's own components,
 * which can come after the message store was written), 90992 (the service waited on the app's callback
 * server; the modify pages list it with "internal error"). Reads send these again; a modify reports an
 * unknown outcome (OutcomeUnknownError), settled by its echo or a read-back, because Tencent may show
 * the new content even though it answered an error.
 */
export const AMBIGUOUS = new Set([60008, 70169, 70500, 91000, 20005, 10002, 20004, 90992]);
/**
 * Definite refusals that may succeed later, safe to send again even for a modify: 20028 "concurrent
 * modification conflict, retry" means Tencent detected a competing write and did not commit this one
 * (a conflict check refuses before the write). 20027 "version conflict" is a refusal too, but retrying
 * it unchanged cannot help: it is reported.
 */
export const RETRYABLE = new Set([20028]);
/** Frequency control refuses before doing anything (60007 REST rate, 60011 app rate, 60018/60019). */
export const RATE_LIMITED = new Set([60007, 60011, 60018, 60019]);

const NOT_FOUND = new Set([20022, 20003, 90012, 90054, 10010, 10015]);
const CONTENT_REFUSED = new Set([80001, 80002, 80004, 93000, 90002, 90007, 90010]);

export function tencentError(code: number, info: string): AppError {
  const options = { providerCode: code };
  const said = info ? `: ${info}` : "";
  if (NOT_FOUND.has(code)) return new NotFoundError(`Tencent has no such message${said}`, options);
  if (code === 20023) return new ConflictError("the message was recalled", { ...options, code: "recalled" });
  if (code === 10007) {
    return new ConflictError(`Tencent does not allow editing this message${said}`, {
      ...options,
      code: "not_editable",
    });
  }
  if (CONTENT_REFUSED.has(code)) {
    return new UnprocessableError(`Tencent refused the content${said}`, {
      ...options,
      code: "content_refused",
    });
  }
  return new ProviderRejectedError(`Tencent refused the request${said}`, options);
}
