import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../../functions/adapters/sqlite/schema.ts";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { newJobId } from "../../../functions/core/jobs/ids.ts";
import { head } from "../../contract/fixtures.ts";
import { queuedJob } from "../../contract/jobs.contract.ts";

/** The embedded store's schema across versions: a file from before jobs gains them at open. */
describe("SQLite schema", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "im-edit-schema-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("adds the jobs table to a file written at schema 1, keeping its messages", async () => {
    const path = join(dir, "im-edit.sqlite");
    const before = new SqliteStore({ path });
    const h = head("schema-app", 1);
    await before.createHead(h);
    before.close();
    // What schema 1 left on disk: no jobs table, user_version 1.
    const raw = new DatabaseSync(path);
    raw.exec("DROP TABLE jobs; PRAGMA user_version = 1;");
    raw.close();

    const after = new SqliteStore({ path });
    try {
      expect(await after.getHead(h.id)).toEqual(h);
      const job = queuedJob({ id: newJobId(Date.now()) });
      expect(await after.createJob(job)).toBe(true);
      expect(await after.activeJobs()).toEqual([job]);
    } finally {
      after.close();
    }
    const reopened = new DatabaseSync(path);
    const { user_version } = reopened.prepare("PRAGMA user_version").get() as { user_version: number };
    reopened.close();
    expect(user_version).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(2);
  });

  it("refuses a file from a newer im-edit", () => {
    const path = join(dir, "newer.sqlite");
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1};`);
    raw.close();
    expect(() => new SqliteStore({ path })).toThrow(/newer im-edit/);
  });
});
