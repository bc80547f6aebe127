import type { Store } from "../../functions/core/store.ts";

/**
 * Wraps a store and counts the calls made through it, by method: the per-operation call budgets
 * (ARCHITECTURE.md "Storage rules") are tested with it, so they cannot creep back.
 */
export function countingStore<S extends Store>(
  inner: S,
): { store: S; calls: Map<string, number>; total(): number; reset(): void } {
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    total: () => [...calls.values()].reduce((sum, n) => sum + n, 0),
    reset: () => calls.clear(),
  };
}
