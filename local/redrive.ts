import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { request } from "undici";

/**
 * `npm run redrive`: the local dead letters (`DATA_DIR/dead-letters`, one JSON file each: the message as
 * the queue held it, the reason, when) listed oldest first with their reasons. `npm run redrive --
 * --replay` sends them back to the running local stack (`npm start`) and removes each one that went
 * through:
 * - edit-queue letters (queued edits, EditRequested, after-send rules, job slices, in-process work) go
 *   to the worker's consumer through `POST /_local/queue`, as the queue would deliver them: `done`
 *   removes the letter; `dead-lettered` means it failed for good again (the stack put a fresh letter with
 *   the new reason, this one is removed); `retry` keeps it.
 * - fallback-queue letters (spooled callbacks) go back into `DATA_DIR/spool`, which the stack drains.
 * - forward-queue letters (callbacks for the app's own handler, issue 16) go back into
 *   `DATA_DIR/forwards` with their attempts reset: the running stack's forward queue looks there every
 *   second and delivers them afresh (re-signed; a stack started later delivers them on start).
 * A letter whose body is not JSON is kept: replaying cannot help it (delete its file).
 * The API URL comes from DATA_DIR/simulators.json (written by `npm start`) unless IM_EDIT_API_URL is set;
 * the token from IM_EDIT_API_TOKEN (replay only).
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
const { SIMULATORS_FILE } = await import("./stack.ts");
const { LOCAL_QUEUE_PATH } = await import("./queue.ts");
const { DirectoryDeadLetters } = await import("../functions/adapters/dead-letters/directory.ts");
const { FileSpool } = await import("../functions/adapters/spool.ts");
const { FORWARDS_DIRECTORY, parseForward } = await import("../functions/adapters/relay/index.ts");
const { writeForwardFile } = await import("../functions/adapters/relay/forward-entries.ts");

type StoredDeadLetter = import("../functions/adapters/dead-letters/directory.ts").StoredDeadLetter;
type SpooledCallback = import("../functions/core/durable.ts").SpooledCallback;

const USAGE =
  "usage: npm run redrive [-- --replay]   (DATA_DIR: the local stack's data directory, default .data)\n";

let flags: { replay?: boolean; help?: boolean };
try {
  flags = parseArgs({
    options: { replay: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: false,
  }).values;
} catch (error: unknown) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
if (flags.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const dataDir = resolve(process.env.DATA_DIR || ".data");
const letters = new DirectoryDeadLetters(join(dataDir, "dead-letters"));

try {
  process.exit(flags.replay ? await replay() : await list());
} catch (error: unknown) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

async function list(): Promise<number> {
  const { letters: all, unreadable } = await letters.list();
  if (all.length === 0) process.stdout.write(`no dead letters in ${letters.directory}\n`);
  for (const letter of all) process.stdout.write(`${describe(letter)}\n`);
  for (const name of unreadable) process.stdout.write(`${name}  (not a dead letter: unreadable)\n`);
  if (all.length > 0) {
    process.stdout.write(
      `${all.length} dead letter${all.length === 1 ? "" : "s"} in ${letters.directory}; ` +
        "npm run redrive -- --replay sends them back to the running stack\n",
    );
  }
  return 0;
}

/** Replays every letter; the exit status is 0 when none is left. */
async function replay(): Promise<number> {
  const { letters: all } = await letters.list();
  if (all.length === 0) {
    process.stdout.write(`no dead letters in ${letters.directory}\n`);
    return 0;
  }
  const token = process.env.IM_EDIT_API_TOKEN;
  const needsApi = all.some((letter) => !isFallback(letter) && !isForward(letter));
  if (needsApi && !token) {
    process.stderr.write(
      "set IM_EDIT_API_TOKEN to the API token npm start printed (or the one it was started with)\n",
    );
    return 2;
  }
  const base = needsApi ? await apiUrl() : "";
  const counts = { done: 0, again: 0, kept: 0 };
  for (const letter of all) {
    const outcome = await replayOne(letter, base, token ?? "");
    process.stdout.write(`${letter.name}  ${outcome.line}\n`);
    counts[outcome.settled]++;
    if (outcome.settled !== "kept") await letters.remove(letter.name);
  }
  process.stdout.write(
    `replayed ${all.length}: ${counts.done} went through, ${counts.again} dead-lettered again (a new letter, ` +
      `its new reason), ${counts.kept} kept${counts.done === all.length ? "" : `; npm run redrive lists what is left`}\n`,
  );
  return counts.done === all.length ? 0 : 1;
}

async function replayOne(
  letter: StoredDeadLetter,
  base: string,
  token: string,
): Promise<{ settled: "done" | "again" | "kept"; line: string }> {
  let body: unknown;
  try {
    body = JSON.parse(letter.body);
  } catch {
    return { settled: "kept", line: "kept: not JSON, replaying cannot help (delete the file)" };
  }
  if (isFallback(letter)) {
    await new FileSpool(join(dataDir, "spool")).enqueue(body as SpooledCallback);
    return { settled: "done", line: "spooled: the stack's drain records it" };
  }
  if (isForward(letter)) {
    const forward = parseForward(body);
    if (!forward)
      return { settled: "kept", line: "kept: not a forward, replaying cannot help (delete the file)" };
    await writeForwardFile(join(dataDir, FORWARDS_DIRECTORY), { forward, attempts: 0 });
    return { settled: "done", line: "queued: the stack's forward queue delivers it again" };
  }
  const response = await request(`${base}${LOCAL_QUEUE_PATH}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: letter.body,
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) {
    const error = (parse(text) as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new Error(
      `POST ${LOCAL_QUEUE_PATH}: ${response.statusCode} ${error?.code ?? ""} ${error?.message ?? ""}`.trim() +
        (response.statusCode === 404 ? " (is npm start running a version with this route?)" : ""),
    );
  }
  const answer = parse(text) as
    | { outcome?: string; reason?: { code?: string; message?: string } }
    | undefined;
  switch (answer?.outcome) {
    case "done":
      return { settled: "done", line: "done" };
    case "dead-lettered":
      return {
        settled: "again",
        line: `failed again, dead-lettered anew: ${answer.reason?.code ?? "?"} ${answer.reason?.message ?? ""}`.trim(),
      };
    default:
      return { settled: "kept", line: "kept: failed again, worth retrying later (see npm start's log)" };
  }
}

/** One line per letter: when, the reason, and what the message asked for (never its content). */
function describe(letter: StoredDeadLetter): string {
  const { reason } = letter;
  const parts = [
    letter.at,
    reason.code,
    ...(reason.status !== undefined ? [`status ${reason.status}`] : []),
    ...(reason.receiveCount !== undefined ? [`receive ${reason.receiveCount}`] : []),
    `from ${reason.source}`,
    summary(letter.body),
  ];
  return `${letter.name}\n  ${parts.join("  ")}\n  ${reason.message}`;
}

/** What the message is, by its action and target (or event type): no text of the message itself. */
function summary(text: string): string {
  const body = parse(text);
  if (typeof body !== "object" || body === null) return "(not JSON)";
  const value = body as Record<string, unknown>;
  const type = value["detail-type"] ?? value.DetailType;
  if (typeof type === "string") return `event ${type.slice(0, 64)}`;
  if (Array.isArray(value.events) && typeof value.provider === "string") {
    return `spooled ${value.provider.slice(0, 32)} callback`;
  }
  if (typeof value.rawQuery === "string" && typeof value.provider === "string") {
    const id = typeof value.id === "string" ? ` ${value.id.slice(0, 32)}` : "";
    return `${value.provider.slice(0, 32)} callback forward${id}`;
  }
  const action = typeof value.action === "string" ? value.action.slice(0, 32) : "edit";
  const target = value.target as { id?: unknown } | undefined;
  const id = typeof target?.id === "string" ? ` ${target.id.slice(0, 80)}` : "";
  const job = typeof value.jobId === "string" ? ` job ${value.jobId.slice(0, 64)}` : "";
  return `${action}${id}${job}`;
}

/** A spooled callback's letter (from the recorder's fallback queue): it goes back through the spool. */
function isFallback(letter: StoredDeadLetter): boolean {
  return /fallback/i.test(letter.reason.source);
}

/** A callback forward's letter (from the forward queue): it goes back through `DATA_DIR/forwards`. */
function isForward(letter: StoredDeadLetter): boolean {
  return /forward/i.test(letter.reason.source);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function apiUrl(): Promise<string> {
  if (process.env.IM_EDIT_API_URL) return process.env.IM_EDIT_API_URL.replace(/\/$/, "");
  try {
    const written = JSON.parse(await readFile(join(dataDir, SIMULATORS_FILE), "utf8")) as {
      api?: { url?: string };
    };
    if (written.api?.url) return written.api.url;
  } catch {
    // No simulators file: npm start with real providers writes none; fall back to its default address.
  }
  return `http://${process.env.HOST || "127.0.0.1"}:${process.env.PORT || "3000"}`;
}
