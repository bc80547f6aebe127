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
export const RETRYABLE = new Set([20004, 20005, 20028, 60008, 70169, 70500, 91000, 90992]);
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
