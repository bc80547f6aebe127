import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type DeadLetter,
  type DeadLetterReason,
  type DeadLetters,
  deadLetterReason,
} from "../../core/dead-letters.ts";
import { isMissingFile, parseJsonObject, removeFileIfPresent, writeJsonDurably } from "../durable-file.ts";

/** A letter read back, with the file it is kept in. */
export interface StoredDeadLetter extends DeadLetter {
  /** The file's name in the directory (oldest first when sorted). */
  readonly name: string;
}

/**
 * The dead-letter port locally: one JSON file `{ body, reason, at }` per letter under
 * `<DATA_DIR>/dead-letters`, written to a temporary name, fsynced and renamed (like the spool), so a crash
 * leaves the whole letter or nothing. Named by time: listed oldest first. `npm run redrive` lists them
 * and, with `--replay`, sends them back to the running stack and removes the ones that went through.
 */
export class DirectoryDeadLetters implements DeadLetters {
  private sequence = 0;

  constructor(
    readonly directory: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async put(body: string, reason: DeadLetterReason): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const at = this.now();
    const name = `${at.getTime().toString().padStart(15, "0")}-${String(this.sequence++).padStart(6, "0")}-${randomUUID()}`;
    const letter: DeadLetter = { body, reason: deadLetterReason(reason), at: at.toISOString() };
    await writeJsonDurably(this.directory, `${name}.json`, letter);
  }

  /** The letters, oldest first; a file that is not a letter is skipped (and named in `unreadable`). */
  async list(): Promise<{ letters: StoredDeadLetter[]; unreadable: string[] }> {
    let names: string[];
    try {
      names = (await readdir(this.directory)).filter((name) => name.endsWith(".json")).sort();
    } catch (error: unknown) {
      if (isMissingFile(error)) return { letters: [], unreadable: [] };
      throw error;
    }
    const letters: StoredDeadLetter[] = [];
    const unreadable: string[] = [];
    for (const name of names) {
      const letter = parseLetter(await readFile(join(this.directory, name), "utf8").catch(() => ""));
      if (letter) letters.push({ ...letter, name });
      else unreadable.push(name);
    }
    return { letters, unreadable };
  }

  /** Removes one letter (by its file name); a letter already gone is no error. */
  async remove(name: string): Promise<void> {
    if (name.includes("/") || name.includes("\\") || !name.endsWith(".json")) {
      throw new Error(`not a dead letter's file name: ${JSON.stringify(name)}`);
    }
    await removeFileIfPresent(this.directory, name);
  }
}

function parseLetter(text: string): DeadLetter | undefined {
  const value = parseJsonObject(text);
  if (!value) return undefined;
  const { body, reason, at } = value;
  if (typeof body !== "string" || typeof at !== "string") return undefined;
  if (typeof reason !== "object" || reason === null) return undefined;
  const r = reason as Record<string, unknown>;
  if (typeof r.code !== "string" || typeof r.message !== "string" || typeof r.source !== "string") {
    return undefined;
  }
  return {
    body,
    at,
    reason: {
      code: r.code,
      message: r.message,
      source: r.source,
      ...(typeof r.status === "number" ? { status: r.status } : {}),
      ...(typeof r.receiveCount === "number" ? { receiveCount: r.receiveCount } : {}),
    },
  };
}
