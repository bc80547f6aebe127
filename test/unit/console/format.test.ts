import { describe, expect, it } from "vitest";
import { apiTime, formatEta, formatRate, progressLine, snippet } from "../../../console/src/format.ts";

describe("console formatting", () => {
  it("formats an ETA as m:ss or h:mm:ss", () => {
    // Act + Assess
    expect(formatEta(15)).toBe("0:15");
    expect(formatEta(723)).toBe("12:03");
    expect(formatEta(3723)).toBe("1:02:03");
    expect(formatEta(-4)).toBe("0:00");
    expect(formatRate(2)).toBe("2.0/s");
  });

  it("cuts a text to one line", () => {
    // Act + Assess
    expect(snippet("a\n b   c")).toBe("a b c");
    expect(snippet("x".repeat(100), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("passes dates and times with an offset on, reads other times as local, refuses the rest", () => {
    // Act + Assess
    expect(apiTime("")).toBe("");
    expect(apiTime("2026-01-31")).toBe("2026-01-31");
    expect(apiTime("2026-01-31T09:00:00Z")).toBe("2026-01-31T09:00:00Z");
    expect(apiTime("2026-01-31 09:00+02:00")).toBe("2026-01-31T09:00+02:00");
    expect(apiTime("2026-01-31T09:00")).toBe(new Date(2026, 0, 31, 9, 0).toISOString());
    expect(apiTime("yesterday")).toBeUndefined();
    expect(apiTime("2026-13-45T99:00")).toBeUndefined();
  });

  it("writes a job's progress as settled/matched with counts, rate and ETA", () => {
    // Prepare
    const job = {
      status: "running",
      dryRun: false,
      matched: 40,
      done: 10,
      failed: 1,
      skipped: 1,
      ratePerSec: 2,
    };
    // Act + Assess
    expect(progressLine({ ...job, etaSeconds: 14 })).toBe(
      "Job running · 12/40 messages · done 10, failed 1, skipped 1 · 2.0/s · ETA 0:14.",
    );
    expect(progressLine({ ...job, status: "done", done: 38, ratePerSec: 0 })).toBe(
      "Job done · 40/40 messages · done 38, failed 1, skipped 1.",
    );
    expect(progressLine({ ...job, dryRun: true, status: "done", done: 0, preview: [{}, {}] })).toBe(
      "Dry run done · 40 matched · 2 would change.",
    );
  });
});
