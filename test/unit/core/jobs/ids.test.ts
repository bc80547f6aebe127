import { describe, expect, it } from "vitest";
import { JOB_ID_PATTERN, newJobId } from "../../../../functions/core/jobs/ids.ts";

describe("newJobId", () => {
  it("sorts by creation time, and by creation order within one millisecond", () => {
    const t = Date.parse("2026-01-01T00:00:00.000Z");
    const ids = [
      newJobId(t),
      newJobId(t),
      newJobId(t),
      newJobId(t + 1),
      newJobId(t + 1),
      newJobId(t + 86_400_000),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(JOB_ID_PATTERN);
  });

  it("stays monotonic when the clock steps back", () => {
    const t = Date.parse("2026-06-01T00:00:00.000Z");
    const first = newJobId(t);
    const second = newJobId(t - 5_000);
    expect(second > first).toBe(true);
  });

  it("orders ids of different times by time, whatever their random part", () => {
    // Later than any time above: the generator only moves forward, so each id is encoded fresh.
    const start = Date.parse("2030-01-01T00:00:00.000Z");
    const ids = Array.from({ length: 50 }, (_, i) => newJobId(start + i * 997));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids.map((id) => id.slice(0, 14))).size).toBe(50);
    expect(ids.every((id) => id.length === 30)).toBe(true);
  });
});
