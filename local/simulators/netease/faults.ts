import type { Fault } from "../common/faults.ts";

/** HTTP 200 `{code, msg, data: {}}` without applying anything. */
export interface NeteaseErrorFault {
  readonly kind: "error";
  readonly code: number;
  readonly msg?: string;
}

/**
 * Faults a test can inject (the kinds are in ../common/faults.ts). `api` is the simulator's API name
 * ("send", "modifyMsg", "queryMessage", or "unknown" for any other path); without it the fault matches
 * any request. Faults apply before any check (headers, CheckSum, body).
 */
export type NeteaseFault = Fault<NeteaseErrorFault>;

export type NeteaseFaultKind = NeteaseFault["kind"];

export function checkErrorFault(fault: NeteaseErrorFault): void {
  if (!Number.isSafeInteger(fault.code)) throw new RangeError("error fault needs an integer code");
}
