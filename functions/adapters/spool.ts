import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { FallbackQueue, SpooledCallback } from "../core/durable.ts";
import { isMissingFile, writeJsonDurably } from "./durable-file.ts";

/**
 * The local durable fallback: one JSON file per spooled callback under `<DATA_DIR>/spool`, written to a
 * temporary name, fsynced and renamed, so a crash leaves either the whole entry or nothing. Files are
 * named by time so the drain replays them in arrival order. (In AWS the same port is an SQS queue.)
 */
export class FileSpool implements FallbackQueue {
  private sequence = 0;

  constructor(readonly directory: string) {}

  async enqueue(entry: SpooledCallback): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const name = `${Date.now().toString().padStart(15, "0")}-${String(this.sequence++).padStart(6, "0")}-${randomUUID()}`;
    await writeJsonDurably(this.directory, `${name}.json`, entry);
  }

  async pending(): Promise<string[]> {
    try {
      return (await readdir(this.directory)).filter((name) => name.endsWith(".json")).sort();
    } catch (error: unknown) {
      if (isMissingFile(error)) return [];
      throw error;
    }
  }

  /**
   * Replays entries oldest first and deletes each one after it was applied. Stops at the first failure
   * (the store is still down) and leaves that entry and the rest for the next drain.
   */
  async drain(
    apply: (entry: SpooledCallback) => Promise<unknown>,
  ): Promise<{ applied: number; remaining: number }> {
    const names = await this.pending();
    let applied = 0;
    for (const name of names) {
      const path = join(this.directory, name);
      const entry = JSON.parse(await readFile(path, "utf8")) as SpooledCallback;
      try {
        await apply(entry);
      } catch {
        return { applied, remaining: names.length - applied };
      }
      await unlink(path);
      applied++;
    }
    return { applied, remaining: 0 };
  }
}
