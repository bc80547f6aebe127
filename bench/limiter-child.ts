import { request as httpRequest } from "node:http";
import { text as readAll } from "node:stream/consumers";
import { pathToFileURL } from "node:url";
import { type ChildJob, type ChildReport, KEY, R, W } from "./limiter-job.ts";

/**
 * A child process of the limiter benchmark (limiter.ts runs this file with `--child <key>`): one
 * DynamoRateLimiter, as one Lambda instance, with its interactive and background callers.
 */

/** The child: one process's limiter and callers, then one JSON line. */
async function child(key: string): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const job = JSON.parse(await readAll(process.stdin)) as ChildJob;
  const { Agent } = await import("node:http");
  const { createDocumentClient } = await import("../functions/adapters/dynamodb/client.ts");
  const { DynamoRateLimiter } = await import("../functions/adapters/dynamodb/limiter.ts");
  const { inBackground } = await import("../functions/core/limiter.ts");
  const { TooManyRequestsError } = await import("../functions/core/errors.ts");
  const limiter = new DynamoRateLimiter(
    createDocumentClient({ region: "local", endpoint: job.endpoint }),
    job.table,
    () => ({ limit: R, windowMs: W }),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const provider = new URL(job.provider);
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: provider.hostname, port: provider.port, method: "POST", path: "/v4/openim/modify", agent },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
  const report: { -readonly [K in keyof ChildReport]: ChildReport[K] } = {
    grants: 0,
    late: 0,
    refused: 0,
    cancelled: 0,
    waitsMs: [],
    interactiveWaitsMs: [],
    interactiveRefused: 0,
    serviceMs: [],
  };
  const stopAt = job.startAt + job.durationMs;
  const caller = async (background: boolean) => {
    while (Date.now() < stopAt) {
      const once = async () => {
        const budget = background ? job.backgroundBudgetMs : job.budgetMs;
        const asked = Date.now();
        try {
          const slot = await limiter.acquire(key, budget);
          const granted = Date.now();
          report.grants++;
          if (granted - asked > budget) report.late++;
          report.waitsMs.push(granted - asked);
          if (!background) report.interactiveWaitsMs.push(granted - asked);
          try {
            await call();
          } finally {
            report.serviceMs.push(Date.now() - granted);
            await slot.release();
          }
        } catch (error: unknown) {
          if (!(error instanceof TooManyRequestsError)) throw error;
          report.refused++;
          if (!background) report.interactiveRefused++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await (background ? inBackground(undefined, once) : once());
      if (!background && job.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, job.thinkMs));
    }
  };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, job.startAt - Date.now())));
  // Interactive callers who pause between edits start spread over one pause (people, not a burst).
  const spread = (index: number) =>
    new Promise((resolve) => setTimeout(resolve, job.thinkMs > 0 ? (job.thinkMs * index) / job.callers : 0));
  await Promise.all([
    ...Array.from({ length: job.callers }, (_, index) => spread(index).then(() => caller(false))),
    ...Array.from({ length: job.background }, () => caller(true)),
  ]);
  agent.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Timers of the limiter's lease upkeep would keep the process a little longer: done is done.
  process.exit(0);
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const index = process.argv.indexOf("--child");
  await child(process.argv[index + 1] ?? KEY);
}
