import type { Fault } from "../common/faults.ts";

/** HTTP 200 with ActionStatus FAIL and this ErrorCode (ErrorInfo `info`); nothing applied. */
export interface TencentErrorFault {
  readonly kind: "error";
  readonly code: number;
  readonly info?: string;
}

/**
 * Faults a test can inject (the kinds are in ../common/faults.ts). `api` is the command name (the last
 * path segment, e.g. "modify_c2c_msg"); without it the fault matches any request.
 */
export type TencentFault = Fault<TencentErrorFault>;

export type FaultKind = TencentFault["kind"];

export function checkErrorFault(fault: TencentErrorFault): void {
  if (!Number.isSafeInteger(fault.code)) throw new RangeError("error fault needs an integer code");
}
