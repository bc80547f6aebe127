/**
 * Faults a test can inject, each consumed by the next request(s) it matches. `api` is the simulator's
 * API name ("send", "modifyMsg", "queryMessage", or "unknown" for any other path); without it the fault
 * matches any request. Faults apply before any check (headers, CheckSum, body).
 */
export type NeteaseFault = {
  readonly api?: string;
  /** How many matching requests the fault affects; default 1. */
  readonly times?: number;
} /** HTTP 200 `{code, msg, data: {}}` without applying anything. */ & (
  | { readonly kind: "error"; readonly code: number; readonly msg?: string }
  /** Wait before handling, then handle normally. */
  | { readonly kind: "delay"; readonly ms: number }
  /** Reset the connection without applying anything. */
  | { readonly kind: "reset-before-apply" }
  /** Apply the request (and send its message copy), then reset the connection without answering. */
  | { readonly kind: "reset-after-apply" }
  /** Apply the request but send no copy, then reset: the change leaves no trace but the provider state. */
  | { readonly kind: "reset-after-apply-silently" }
  /** Answer with this HTTP status and a non-JSON body (what a gateway in front of Yunxin does); nothing applied. */
  | { readonly kind: "http-status"; readonly status: number }
);

export type NeteaseFaultKind = NeteaseFault["kind"];

interface Pending {
  readonly fault: NeteaseFault;
  remaining: number;
}

/** Faults in injection order; a request takes the first that matches it and uses one of its `times`. */
export class FaultQueue {
  readonly #pending: Pending[] = [];

  add(fault: NeteaseFault): void {
    const times = fault.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1)
      throw new RangeError("fault.times must be a positive integer");
    if (fault.kind === "delay" && !(fault.ms >= 0)) throw new RangeError("delay fault needs ms >= 0");
    if (fault.kind === "error" && !Number.isSafeInteger(fault.code)) {
      throw new RangeError("error fault needs an integer code");
    }
    if (fault.kind === "http-status" && !(fault.status >= 100 && fault.status <= 599)) {
      throw new RangeError("http-status fault needs a status in 100..599");
    }
    this.#pending.push({ fault, remaining: times });
  }

  take(api: string): NeteaseFault | undefined {
    const index = this.#pending.findIndex((p) => p.fault.api === undefined || p.fault.api === api);
    const match = this.#pending[index];
    if (match === undefined) return undefined;
    match.remaining -= 1;
    if (match.remaining === 0) this.#pending.splice(index, 1);
    return match.fault;
  }

  get size(): number {
    return this.#pending.length;
  }
}
