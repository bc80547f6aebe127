/**
 * The PATCH clients of the overload benchmark, run as their own process so that the latency they
 * observe is not inflated by queueing on the server's event loop (and the server's is not by theirs):
 *   node --import tsx bench/overload-client.ts < job.json      (an OverloadJob, see overload-report.ts)
 * Client i edits message i in a closed loop: PATCH, then again at once after a 2xx/4xx, or after
 * Retry-After after a 429/503, until `durationMs` after the first wave (all clients at once). Prints
 * "firing" when it starts, then one JSON line (an OverloadReport) when done.
 */
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.AWS_EC2_METADATA_DISABLED = "true";

import { text as readAll } from "node:stream/consumers";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { type OverloadAnswer, OverloadJob, type OverloadReport, REQUEST_HEADER } from "./overload-report.ts";

const job = OverloadJob.parse(JSON.parse(await readAll(process.stdin)));
const origin = new URL(job.url);
if (origin.hostname !== "127.0.0.1")
  throw new Error(`refusing to load anything but 127.0.0.1 (got ${job.url})`);

// The whole client stops by itself a little after the phase limit (the parent kills it later still).
setTimeout(() => {
  process.stderr.write(`overload-client: still running after ${job.phaseLimitMs + 5_000} ms, giving up\n`);
  process.exit(3);
}, job.phaseLimitMs + 5_000).unref();

const epoch = () => performance.timeOrigin + performance.now();
const client = new Pool(origin.origin, {
  connections: job.ids.length,
  connectTimeout: 5_000,
  headersTimeout: job.requestTimeoutMs,
  bodyTimeout: job.requestTimeoutMs,
});
const answers: OverloadAnswer[] = [];
const errors: Record<string, number> = {};
let sent = 0;

try {
  process.stdout.write("firing\n");
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  const stopAt = start + job.durationMs;
  const hardStop = AbortSignal.timeout(job.phaseLimitMs);
  const worker = async (index: number) => {
    const id = job.ids[index] as string;
    let first = true;
    while (performance.now() < stopAt && !hardStop.aborted) {
      const request = sent++;
      const text = `overload edit ${job.offset + request} of ${job.run}`;
      const startedAt = epoch();
      try {
        const response = await client.request({
          method: "PATCH",
          path: `/v1/messages/${id}`,
          headers: {
            authorization: `Bearer ${job.token}`,
            "content-type": "application/json",
            [REQUEST_HEADER]: String(request),
          },
          body: JSON.stringify({ text }),
          signal: hardStop,
        });
        await response.body.text();
        const header = response.headers["retry-after"];
        const retryAfter = header === undefined ? undefined : Number(header);
        answers.push({
          request,
          message: index,
          text,
          status: response.statusCode,
          startedAt,
          doneAt: epoch(),
          first,
          ...(retryAfter !== undefined ? { retryAfter } : {}),
        });
        if (retryAfter !== undefined) {
          const resumeAt = performance.now() + retryAfter * 1000;
          if (resumeAt >= stopAt) break;
          await sleep(resumeAt - performance.now());
        }
      } catch (error: unknown) {
        const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "unknown";
        errors[code] = (errors[code] ?? 0) + 1;
        if (first) answers.push({ request, message: index, text, status: 0, startedAt, doneAt: 0, first });
        break;
      }
      first = false;
    }
  };
  await Promise.all(job.ids.map((_, index) => worker(index)));
  const report: OverloadReport = {
    sent,
    start: performance.timeOrigin + start,
    stopAt: performance.timeOrigin + stopAt,
    answers,
    errors,
    busy: performance.eventLoopUtilization(elu).utilization,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await client.close();
}
