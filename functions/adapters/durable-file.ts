import { randomUUID } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes `value` as JSON to `<directory>/<name>` so that a crash leaves the whole file or nothing: a
 * temporary name (mode 0600), fsynced, then renamed. The local spool, forward queue and dead letters
 * all keep their entries this way.
 */
export async function writeJsonDurably(directory: string, name: string, value: unknown): Promise<void> {
  const temporary = join(directory, `.${name}.${randomUUID()}.tmp`);
  const file = await open(temporary, "wx", 0o600);
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(directory, name));
}

/** The object such a file's text holds; undefined when it is not JSON or not an object (a foreign file). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  return value as Record<string, unknown>;
}

/** Whether a file system error says the file (or its directory) is not there. */
export function isMissingFile(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}

/** Removes `<directory>/<name>`; a file already gone is no error (someone else removed it first). */
export async function removeFileIfPresent(directory: string, name: string): Promise<void> {
  await unlink(join(directory, name)).catch((error: unknown) => {
    if (!isMissingFile(error)) throw error;
  });
}
