import type { Clock } from "../../functions/core/limiter.ts";

/** Virtual time: sleeping advances it, so waits of seconds take none and results are exact. */
export function manualClock(
  start = Date.parse("2026-06-01T00:00:00Z"),
): Clock & { advance(ms: number): void } {
  let now = start;
  const advance = (ms: number) => {
    now += ms;
  };
  return {
    now: () => now,
    advance,
    sleep: async (ms) => {
      advance(ms);
    },
  };
}
