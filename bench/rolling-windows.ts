/**
 * Counting timestamped events (ms, ascending) in rolling windows: the rate a provider saw, shared by
 * the edit benchmarks and the limiter benchmark.
 */

/** The most events of ascending `times` (ms) in any half-open window of `windowMs`. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    const from = times[start] ?? 0;
    while (end < times.length && (times[end] ?? 0) < from + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/**
 * Events per rolling `windowMs` window, for windows starting every `stepMs` from `from` until the last
 * one that ends by `to`: mean, min and max. The mean is the achieved rate; as it weighs every window
 * alike it is not thrown off by bursts that happen to fall in or out of a fixed interval.
 */
export function rollingCounts(
  times: readonly number[],
  from: number,
  to: number,
  windowMs = 1000,
  stepMs = 1,
): { mean: number; min: number; max: number; windows: number } {
  let lo = 0;
  let hi = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let windows = 0;
  for (let start = from; start + windowMs <= to; start += stepMs) {
    while (lo < times.length && (times[lo] ?? 0) < start) lo++;
    while (hi < times.length && (times[hi] ?? 0) < start + windowMs) hi++;
    const count = hi - lo;
    sum += count;
    min = Math.min(min, count);
    max = Math.max(max, count);
    windows++;
  }
  return windows === 0
    ? { mean: Number.NaN, min: Number.NaN, max: Number.NaN, windows }
    : { mean: sum / windows, min, max, windows };
}
