/**
 * modifyMsg's per-message limit (notes §2.1: the same message updated more than once within 1 s → 107449),
 * as a rolling window: an edit is refused when `limit` edits of that message were applied in the last
 * 1000 ms. Only applied edits enter the window (a choice; Yunxin does not say), so a refused retry does
 * not prolong the wait.
 */
export class EditLimiter {
  readonly #limit: number;
  readonly #applied = new Map<string, number[]>();

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError("editsPerMessagePerSecond must be a positive integer");
    }
    this.#limit = limit;
  }

  /** Whether one more edit of `messageServerId` is allowed at `nowMs` (nothing recorded). */
  allows(messageServerId: string, nowMs: number): boolean {
    const recent = (this.#applied.get(messageServerId) ?? []).filter((at) => at > nowMs - 1000);
    this.#applied.set(messageServerId, recent);
    return recent.length < this.#limit;
  }

  record(messageServerId: string, nowMs: number): void {
    const recent = this.#applied.get(messageServerId) ?? [];
    recent.push(nowMs);
    this.#applied.set(messageServerId, recent);
  }
}
