import type { Store } from "../functions/core/store.ts";

/**
 * Wraps a store and counts the calls made through it, by method, into the current phase: what the
 * benchmarks report as store calls per recorded message and per edit (editor and echo together).
 */
export class CountingStore {
  phase = "none";
  readonly store: Store;
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(inner: Store) {
    this.store = new Proxy(inner, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function" || typeof property !== "string") return value;
        return (...args: unknown[]) => {
          const phase = this.counts.get(this.phase) ?? new Map<string, number>();
          phase.set(property, (phase.get(property) ?? 0) + 1);
          this.counts.set(this.phase, phase);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** Calls by method in a phase. */
  calls(phase: string): ReadonlyMap<string, number> {
    return this.counts.get(phase) ?? new Map<string, number>();
  }

  total(phase: string): number {
    return [...this.calls(phase).values()].reduce((sum, n) => sum + n, 0);
  }

  /** "6.0 (getHead 1.0, beginEdit 1.0, …)" per operation. */
  describe(phase: string, ops: number): string {
    const entries = [...this.calls(phase)];
    if (entries.length === 0) return "none seen";
    return `${(this.total(phase) / ops).toFixed(2)} (${entries
      .sort((a, b) => b[1] - a[1])
      .map(([method, count]) => `${method} ${(count / ops).toFixed(2)}`)
      .join(", ")})`;
  }
}
