/**
 * Faults a test can inject, each consumed by the next request(s) it matches. `api` is the command name
 * (the last path segment, e.g. "modify_c2c_msg"); without it the fault matches any request.
 */
export type TencentFault = {
  readonly api?: string;
  readonly times?: number;
} /** HTTP 200 with ActionStatus FAIL and this ErrorCode; nothing applied. */ & (
  | { readonly kind: "error"; readonly code: number; readonly info?: string }
  /** Wait before handling, then handle normally. */
  | { readonly kind: "delay"; readonly ms: number }
  /** Reset the connection without applying anything. */
  | { readonly kind: "reset-before-apply" }
  /** Apply the request (and send its callback), then reset the connection without answering. */
  | { readonly kind: "reset-after-apply" }
  /** Apply the request but send no callback, then reset: the change leaves no trace but the provider state. */
  | { readonly kind: "reset-after-apply-silently" }
  /** Answer with this HTTP status and a non-JSON body (what a gateway in front of Tencent does); nothing applied. */
  | { readonly kind: "http-status"; readonly status: number }
);

export type FaultKind = TencentFault["kind"];

interface Pending {
  readonly fault: TencentFault;
  remaining: number;
}

/** Faults in injection order; a request takes the first that matches it and uses one of its `times`. */
export class FaultQueue {
  readonly #pending: Pending[] = [];

  add(fault: TencentFault): void {
    const times = fault.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1)
      throw new RangeError("fault.times must be a positive integer");
    if (fault.kind === "delay" && !(fault.ms >= 0)) throw new RangeError("delay fault needs ms >= 0");
    if (fault.kind === "http-status" && !(fault.status >= 100 && fault.status <= 599)) {
      throw new RangeError("http-status fault needs a status in 100..599");
    }
    this.#pending.push({ fault, remaining: times });
  }

  take(api: string): TencentFault | undefined {
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
