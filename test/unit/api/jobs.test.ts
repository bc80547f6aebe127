import { describe, expect, it } from "vitest";
import { CreateJobBody, jobView, ReconcileBody } from "../../../functions/api/jobs.ts";
import type { Job } from "../../../functions/core/jobs/model.ts";
import * as z from "../../../functions/zod.ts";

const job = (extra: Partial<Job> = {}): Job => ({
  id: "job_01jh0000000000000000000000",
  kind: "edit",
  status: "running",
  dryRun: false,
  selector: { provider: "tencent", appId: "1400000000" },
  work: { edit: { text: "secret replacement" } },
  actor: "api",
  counts: { matched: 1000, done: 400, failed: 5, skipped: 95 },
  runner: { owner: "run_x", until: 2_000 },
  ratePerSec: 50,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:01.000Z",
  rev: 3,
  ...extra,
});

describe("job API", () => {
  it("shows counts, rate and ETA while a live runner holds the job; no edit body", () => {
    // Act
    const view = jobView(job(), 1_000);
    // Assess: 500 left at 50/s
    expect(view).toMatchObject({
      status: "running",
      matched: 1000,
      done: 400,
      ratePerSec: 50,
      etaSeconds: 10,
      edit: true,
    });
    expect(JSON.stringify(view)).not.toContain("secret replacement");
    expect(view).not.toHaveProperty("preview");
  });

  it("has no rate or ETA once the runner is gone, and a dry run shows its preview", () => {
    expect(jobView(job(), 5_000)).toMatchObject({ ratePerSec: 0 });
    expect(jobView(job(), 5_000)).not.toHaveProperty("etaSeconds");
    const dry = jobView(
      job({ dryRun: true, status: "done", preview: [{ id: "m", before: {}, after: {} }] }),
      0,
    );
    expect(dry).toMatchObject({ dryRun: true, preview: [{ id: "m" }] });
    expect(dry).not.toHaveProperty("etaSeconds");
  });

  it("accepts exactly one of edit, rule and action, and since before until", () => {
    const selector = { provider: "tencent", appId: "1" };
    const ok = (body: unknown) => z.safeParse(CreateJobBody, body).success;
    expect(ok({ selector, edit: { text: "x" } })).toBe(true);
    expect(ok({ selector, rule: "redact-phone", dryRun: true })).toBe(true);
    expect(ok({ selector, action: { replaceText: { text: "x" } } })).toBe(true);
    expect(ok({ selector })).toBe(false);
    expect(ok({ selector, rule: "a", edit: { text: "x" } })).toBe(false);
    expect(ok({ selector, rule: "Not An Id" })).toBe(false);
    expect(ok({ selector: { ...selector, since: "2026-01-02", until: "2026-01-01" }, rule: "a" })).toBe(
      false,
    );
    expect(ok({ selector: { ...selector, text: "a(" }, rule: "a" })).toBe(false);
  });

  it("reconcile takes a pair or a group, not both", () => {
    const base = { provider: "tencent", appId: "1", since: "2026-01-01", until: "2026-01-02" };
    const ok = (body: unknown) => z.safeParse(ReconcileBody, body).success;
    expect(ok({ ...base, pair: ["a", "b"] })).toBe(true);
    expect(ok({ ...base, groupId: "g", topicId: "t" })).toBe(true);
    expect(ok(base)).toBe(false);
    expect(ok({ ...base, pair: ["a", "b"], groupId: "g" })).toBe(false);
    expect(ok({ ...base, pair: ["a"] })).toBe(false);
  });
});
