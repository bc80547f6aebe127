import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { formatEta, formatRate, type JobProgress } from "../console/src/format.ts";

/**
 * `npm run jobs -- list | watch <id> | cancel <id> | resume <id>`: bulk jobs on the running local stack
 * (or any im-edit API: IM_EDIT_API_URL). `watch` draws a progress bar with the counts, the rate and the
 * ETA, redrawn in place on a terminal (a line per second otherwise), and exits when the job ends (status
 * 0 when it is done). The API URL comes from DATA_DIR/simulators.json (written by `npm start`) unless
 * IM_EDIT_API_URL is set; the token from IM_EDIT_API_TOKEN.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
const { SIMULATORS_FILE } = await import("./stack.ts");

interface JobView extends JobProgress {
  readonly id: string;
  readonly kind: string;
  readonly createdAt: string;
  readonly error?: string;
}

const FINISHED = new Set(["done", "failed", "cancelled"]);
const USAGE = "usage: npm run jobs -- list | watch <id> | cancel <id> | resume <id>\n";

const [command, id] = process.argv.slice(2);
const token = process.env.IM_EDIT_API_TOKEN;
if (!token) {
  process.stderr.write(
    "set IM_EDIT_API_TOKEN to the API token npm start printed (or the one it was started with)\n",
  );
  process.exit(2);
}
const base = await apiUrl();

try {
  switch (command) {
    case "list":
      await list();
      break;
    case "watch":
      process.exit(await watch(required(id)));
      break;
    case "cancel":
    case "resume": {
      const reply = await call("POST", `/v1/edits/${encodeURIComponent(required(id))}/${command}`);
      process.stdout.write(`${JSON.stringify(reply)}\n`);
      break;
    }
    default:
      process.stderr.write(USAGE);
      process.exit(2);
  }
} catch (error: unknown) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

async function list(): Promise<void> {
  const page = (await call("GET", "/v1/edits?limit=50")) as { items: JobView[] };
  if (page.items.length === 0) {
    process.stdout.write("no jobs\n");
    return;
  }
  for (const job of page.items) {
    const counts = `matched ${job.matched}  done ${job.done}  failed ${job.failed}  skipped ${job.skipped}`;
    process.stdout.write(
      `${job.id}  ${job.kind}${job.dryRun ? " (dry run)" : ""}  ${job.status.padEnd(9)}  ${counts}  ${job.createdAt}\n`,
    );
  }
}

/** Polls the job and draws its progress until it ends; the exit status: 0 done, 1 otherwise. */
async function watch(jobId: string): Promise<number> {
  const tty = process.stdout.isTTY === true;
  for (;;) {
    const job = (await call("GET", `/v1/edits/${encodeURIComponent(jobId)}`)) as JobView;
    const line = progressLine(job, tty ? (process.stdout.columns ?? 100) : 100);
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else process.stdout.write(`${line}\n`);
    if (FINISHED.has(job.status)) {
      if (tty) process.stdout.write("\n");
      if (job.error) process.stdout.write(`last error: ${job.error}\n`);
      if (job.dryRun)
        process.stdout.write(`preview: ${job.preview?.length ?? 0} messages (GET /v1/edits/${job.id})\n`);
      return job.status === "done" ? 0 : 1;
    }
    await sleep(tty ? 250 : 1_000);
  }
}

/** `[########------]  57%  570/1000  done 560 · failed 2 · skipped 8 · 180.0/s · ETA 0:03 · running` */
function progressLine(job: JobView, columns: number): string {
  const settled = job.done + job.failed + job.skipped;
  const total = Math.max(job.matched, settled);
  const ratio = total === 0 ? (FINISHED.has(job.status) ? 1 : 0) : settled / total;
  const tail = [
    `${String(Math.floor(ratio * 100)).padStart(3)}%`,
    `${settled}/${total}`,
    `done ${job.done} · failed ${job.failed} · skipped ${job.skipped}`,
    formatRate(job.ratePerSec),
    ...(job.etaSeconds !== undefined ? [`ETA ${formatEta(job.etaSeconds)}`] : []),
    job.dryRun ? `${job.status} (dry run)` : job.status,
  ].join("  ");
  const width = Math.max(10, Math.min(40, columns - tail.length - 4));
  const filled = Math.round(ratio * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]  ${tail}`;
}

async function call(method: "GET" | "POST", path: string): Promise<unknown> {
  const response = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.body.text();
  const body: unknown = text === "" ? undefined : JSON.parse(text);
  if (response.statusCode >= 400) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new Error(
      `${method} ${path}: ${response.statusCode} ${error?.code ?? ""} ${error?.message ?? ""}`.trim(),
    );
  }
  return body;
}

async function apiUrl(): Promise<string> {
  if (process.env.IM_EDIT_API_URL) return process.env.IM_EDIT_API_URL.replace(/\/$/, "");
  const dataDir = resolve(process.env.DATA_DIR || ".data");
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

function required(value: string | undefined): string {
  if (!value) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  return value;
}
