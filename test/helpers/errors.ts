import { AppError } from "../../functions/core/errors.ts";
import { statusOf } from "../../functions/http/respond.ts";

/** What `run` throws, or undefined when it returns: for asserting on a refusal's type and fields. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error: unknown) {
    return error;
  }
  return undefined;
}

/** A typed error as the HTTP layer renders it (the core's errors carry no status; `statusOf` maps them). */
export function rendered(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  return {
    name: error.name,
    status: statusOf(error),
    code: error.code,
    ...(error.providerCode !== undefined ? { providerCode: error.providerCode } : {}),
    ...(error.details !== undefined ? { details: error.details } : {}),
  };
}
