/**
 * Tencent's per-API frequency limit (default 200/s, tencent-chat-notes §4.3), as a rolling window: a
 * request is refused when `limit` requests were already admitted in the last 1000 ms.
 *
 * Only admitted requests enter the window (a choice; Tencent does not say). So refusals do not prolong
 * a ban: a client retrying in a tight loop gets through as soon as the oldest admitted call is 1 s old.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windows = new Map<string, number[]>();

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError("ratePerSecond must be a positive integer");
    this.#limit = limit;
  }

  /** Admits (and records) the call, or answers false when `api` is over its limit at `nowMs`. */
  admit(api: string, nowMs: number): boolean {
    const window = (this.#windows.get(api) ?? []).filter((at) => at > nowMs - 1000);
    const admitted = window.length < this.#limit;
    if (admitted) window.push(nowMs);
    this.#windows.set(api, window);
    return admitted;
  }
}
