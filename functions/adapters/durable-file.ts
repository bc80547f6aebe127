import { randomUUID } from "node:crypto";
import { open, rename } from "node:fs/promises";
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
