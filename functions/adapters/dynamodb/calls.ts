import { StoreUnavailableError } from "../../core/errors.ts";

/**
 * Every store call goes through here: condition failures pass through for the callers that expect
 * them; anything else (network, throttling, timeouts) becomes a StoreUnavailableError (503, or spool).
 */
export async function guard<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error: unknown) {
    if (isConditionFailure(error)) throw error;
    const name = error instanceof Error ? error.name : "Error";
    throw new StoreUnavailableError(`the message store is unavailable (${name})`, {
      retryAfter: 1,
      cause: error,
    });
  }
}

/** Runs a conditional write: true when it happened, false when its condition did not hold. */
export async function conditionally(call: Promise<unknown>): Promise<boolean> {
  try {
    await guard(call);
    return true;
  } catch (error: unknown) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}
