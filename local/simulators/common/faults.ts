/**
 * Faults a test can inject into a simulator, each consumed by the next request(s) it matches. `api` is
 * the simulator's API name; without it the fault matches any request. Faults apply before any check.
 * `ErrorFault` is the provider's own "error" kind: HTTP 200 with its failure envelope, nothing applied.
 */
export type Fault<ErrorFault extends BaseErrorFault> = {
  readonly api?: string;
  /** How many matching requests the fault affects; default 1. */
  readonly times?: number;
} & (
  | ErrorFault
  /** Wait before handling, then handle normally. */
  | { readonly kind: "delay"; readonly ms: number }
  /** Reset the connection without applying anything. */
  | { readonly kind: "reset-before-apply" }
  /** Apply the request (and send its notifications: copies, callbacks), then reset without answering. */
  | { readonly kind: "reset-after-apply" }
  /** Apply the request but notify nobody, then reset: the change leaves no trace but the provider state. */
  | { readonly kind: "reset-after-apply-silently" }
  /** Answer with this HTTP status and a non-JSON body (what a gateway in front of the provider does); nothing applied. */
  | { readonly kind: "http-status"; readonly status: number }
  /**
   * Apply the request, then answer the provider's failure envelope as the "error" kind does: the work
   * was done but the answer says it failed (Tencent 60008 "service timeout", an internal error after the
   * write). Its notifications (callbacks, copies) go out as usual, or none when `silently`.
   */
  | AfterApplyErrorFault<ErrorFault>
);

/** The "error-after-apply" kind: the provider's "error" fields, applied first. */
export type AfterApplyErrorFault<ErrorFault extends BaseErrorFault> = Omit<ErrorFault, "kind"> & {
  readonly kind: "error-after-apply";
  readonly silently?: boolean;
};

/** The provider's "error" fault carried by an "error-after-apply" one (same code and text). */
export function asErrorFault<E extends BaseErrorFault>(fault: AfterApplyErrorFault<E>): E {
  const { silently: _, ...fields } = fault;
  return { ...fields, kind: "error" } as unknown as E;
}

/** What every provider's "error" fault carries: the code its failure envelope answers. */
export interface BaseErrorFault {
  readonly kind: "error";
  readonly code: number;
}

interface Pending<E extends BaseErrorFault> {
  readonly fault: Fault<E>;
  remaining: number;
}

/** Faults in injection order; a request takes the first that matches it and uses one of its `times`. */
export class FaultQueue<E extends BaseErrorFault> {
  readonly #pending: Pending<E>[] = [];
  readonly #checkError: (fault: E) => void;

  /** `checkError` validates the provider's "error" faults (the other kinds are checked here). */
  constructor(checkError: (fault: E) => void) {
    this.#checkError = checkError;
  }

  add(fault: Fault<E>): void {
    const times = fault.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1)
      throw new RangeError("fault.times must be a positive integer");
    if (fault.kind === "delay" && !(fault.ms >= 0)) throw new RangeError("delay fault needs ms >= 0");
    if (fault.kind === "error") this.#checkError(fault);
    if (fault.kind === "error-after-apply") this.#checkError(asErrorFault(fault));
    if (fault.kind === "http-status" && !(fault.status >= 100 && fault.status <= 599)) {
      throw new RangeError("http-status fault needs a status in 100..599");
    }
    this.#pending.push({ fault, remaining: times });
  }

  take(api: string): Fault<E> | undefined {
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
