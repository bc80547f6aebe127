import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Forward } from "../../core/relay.ts";
import { isMissingFile, parseJsonObject, removeFileIfPresent, writeJsonDurably } from "../durable-file.ts";
import { parseForward } from "./record.ts";

/** A forward as kept by the queue: the forward, and the attempts it has had (so a restart counts on). */
export interface QueuedForward {
  readonly forward: Forward;
  readonly attempts: number;
}

/**
 * Writes a forward into a forward directory as a new queue entry (to a temporary name, fsynced, renamed:
 * a crash leaves the whole entry or nothing). A running queue on that directory picks it up within its
 * `pollMs`; `npm run redrive -- --replay` puts dead forward letters back this way.
 */
export async function writeForwardFile(directory: string, entry: QueuedForward): Promise<string> {
  await mkdir(directory, { recursive: true });
  const name = `${Date.now().toString().padStart(15, "0")}-${randomUUID()}.json`;
  await writeJsonDurably(directory, name, entry);
  return name;
}

/** Where the queue keeps its entries: files, or memory. */
export interface ForwardEntries {
  add(entry: QueuedForward): Promise<string>;
  names(): Promise<string[]>;
  read(name: string): Promise<QueuedForward | "gone" | "invalid">;
  /** The entry's stored text, as a dead letter's body when it is not a forward. */
  raw(name: string): Promise<string>;
  update(name: string, entry: QueuedForward): Promise<void>;
  remove(name: string): Promise<void>;
}

/** One file per entry under the forward directory: what a crash or restart leaves is delivered next. */
export class DirectoryEntries implements ForwardEntries {
  constructor(private readonly directory: string) {}

  add(entry: QueuedForward): Promise<string> {
    return writeForwardFile(this.directory, entry);
  }

  async names(): Promise<string[]> {
    try {
      const names = await readdir(this.directory);
      return names.filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
    } catch (error: unknown) {
      if (isMissingFile(error)) return [];
      throw error;
    }
  }

  async read(name: string): Promise<QueuedForward | "gone" | "invalid"> {
    let text: string;
    try {
      text = await readFile(join(this.directory, name), "utf8");
    } catch (error: unknown) {
      if (isMissingFile(error)) return "gone";
      throw error;
    }
    return parseEntry(text) ?? "invalid";
  }

  raw(name: string): Promise<string> {
    return readFile(join(this.directory, name), "utf8");
  }

  update(name: string, entry: QueuedForward): Promise<void> {
    return writeJsonDurably(this.directory, name, entry);
  }

  async remove(name: string): Promise<void> {
    await removeFileIfPresent(this.directory, name);
  }
}

/** Without DATA_DIR: the entries live as long as the process. */
export class MemoryEntries implements ForwardEntries {
  private readonly entries = new Map<string, QueuedForward>();
  private sequence = 0;

  async add(entry: QueuedForward): Promise<string> {
    const name = String(this.sequence++);
    this.entries.set(name, entry);
    return name;
  }

  async names(): Promise<string[]> {
    return [...this.entries.keys()];
  }

  async read(name: string): Promise<QueuedForward | "gone"> {
    return this.entries.get(name) ?? "gone";
  }

  async raw(name: string): Promise<string> {
    return JSON.stringify(this.entries.get(name));
  }

  async update(name: string, entry: QueuedForward): Promise<void> {
    this.entries.set(name, entry);
  }

  async remove(name: string): Promise<void> {
    this.entries.delete(name);
  }
}

function parseEntry(text: string): QueuedForward | undefined {
  const value = parseJsonObject(text);
  if (!value) return undefined;
  const { forward, attempts } = value;
  const parsed = parseForward(forward);
  if (!parsed) return undefined;
  return {
    forward: parsed,
    attempts: typeof attempts === "number" && Number.isInteger(attempts) && attempts >= 0 ? attempts : 0,
  };
}
