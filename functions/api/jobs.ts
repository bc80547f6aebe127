import type { Dependencies } from "../clients.ts";
import { NotFoundError } from "../core/errors.ts";
import { JOB_ID_PATTERN } from "../core/jobs/ids.ts";
import type { Job, JobSelector, JobWork, ReconcileSpec } from "../core/jobs/model.ts";
import { PROVIDER_NAME_PATTERN, providerName } from "../core/model.ts";
import { patternProblem } from "../core/rules/patterns.ts";
import { RULE_ID_PATTERN, RuleAction } from "../core/rules/schema.ts";
import { logger } from "../logger.ts";
import { count } from "../metrics.ts";
import { storable } from "../validation.ts";
import * as z from "../zod.ts";

/**
 * Bulk jobs over the API (`/v1/edits`, `/v1/reconcile`) and the work queue (`runJob`): the operations'
 * schemas (zod: anything else is a 400 with its details, and no job) and the job's view.
 */

const Provider = z.pipe(
  z
    .string()
    .check(z.regex(PROVIDER_NAME_PATTERN, "must be a provider name (2-16 lower-case letters and digits)")),
  z.transform((name: string) => providerName(name)),
);
const bounded = (maxBytes: number) =>
  z.string().check(
    z.minLength(1),
    z.refine((value) => Buffer.byteLength(value) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`),
  );
const AppId = z.pipe(z.string().check(z.maxLength(64)), bounded(64));
/** ISO 8601 date or date-time, normalized to a full UTC timestamp. */
const Timestamp = z.pipe(
  z.union([z.iso.datetime({ offset: true }), z.iso.date()]),
  z.transform((value: string) => new Date(value).toISOString()),
);
const Pattern = z.string().check(
  z.superRefine((value, context) => {
    const problem = patternProblem(value);
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem, input: value });
  }),
);
const Actor = z._default(z.string().check(z.minLength(1), z.maxLength(256)), "invoke");
const JobId = z.string().check(z.maxLength(64));
const sinceBeforeUntil = (value: { since?: string | undefined; until?: string | undefined }) =>
  value.since === undefined || value.until === undefined || value.since < value.until;

export const JobSelectorBody = z
  .strictObject({
    provider: Provider,
    appId: AppId,
    conversation: z.optional(bounded(1800)),
    sender: z.optional(bounded(1024)),
    since: z.optional(Timestamp),
    until: z.optional(Timestamp),
    text: z.optional(Pattern),
  })
  .check(z.refine(sinceBeforeUntil, { message: "since must be before until", path: ["since"] }));

/** `POST /v1/edits`: a selector and exactly one of an edit body, a rule id, a rule action. */
export const CreateJobBody = z
  .strictObject({
    selector: JobSelectorBody,
    edit: z.optional(z.record(z.string(), z.unknown()).check(z.superRefine(storable))),
    rule: z.optional(z.string().check(z.regex(RULE_ID_PATTERN, "must be a rule id (a-z, 0-9, -)"))),
    action: z.optional(RuleAction),
    dryRun: z._default(z.boolean(), false),
  })
  .check(
    z.superRefine((value, context) => {
      const given = (["edit", "rule", "action"] as const).filter((key) => value[key] !== undefined);
      if (given.length !== 1) {
        context.addIssue({
          code: "custom",
          message: `exactly one of edit, rule, action is required (got ${given.length === 0 ? "none" : given.join(", ")})`,
          input: value,
        });
      }
    }),
  );
export type CreateJobBody = z.infer<typeof CreateJobBody>;

/** `POST /v1/reconcile`: one conversation (a pair of accounts, or a group and its topic) over [since, until). */
export const ReconcileBody = z
  .strictObject({
    provider: Provider,
    appId: AppId,
    pair: z.optional(z.tuple([bounded(256), bounded(256)])),
    groupId: z.optional(bounded(256)),
    topicId: z.optional(z.string().check(z.maxLength(256))),
    since: Timestamp,
    until: Timestamp,
  })
  .check(
    z.refine((value) => (value.pair === undefined) !== (value.groupId === undefined), {
      message: "exactly one of pair, groupId is required",
    }),
    z.refine(sinceBeforeUntil, { message: "since must be before until", path: ["since"] }),
  );

export const JOB_OPERATIONS = [
  z.strictObject({ action: z.literal("createJob"), body: CreateJobBody, actor: Actor }),
  z.strictObject({ action: z.literal("getJob"), jobId: JobId }),
  z.strictObject({
    action: z.literal("listJobs"),
    limit: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
    nextToken: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  }),
  z.strictObject({ action: z.literal("cancelJob"), jobId: JobId }),
  z.strictObject({ action: z.literal("resumeJob"), jobId: JobId }),
  z.strictObject({ action: z.literal("reconcile"), body: ReconcileBody, actor: Actor }),
  /** A slice of a job's work (queued by creation, resume and the runner itself). */
  z.strictObject({ action: z.literal("runJob"), jobId: JobId }),
  /** Queues `runJob` for jobs whose runner died (stale heartbeat) or whose task was lost (a schedule in AWS). */
  z.strictObject({ action: z.literal("sweepJobs") }),
] as const;

type JobOperation = z.infer<(typeof JOB_OPERATIONS)[number]>;
export type JobAction = JobOperation["action"];
export const JOB_ACTIONS: ReadonlySet<string> = new Set<JobAction>([
  "createJob",
  "getJob",
  "listJobs",
  "cancelJob",
  "resumeJob",
  "reconcile",
  "runJob",
  "sweepJobs",
]);

export interface JobReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const accepted = (job: Job): JobReply => ({
  status: 202,
  body: { id: job.id, status: job.status },
  headers: { location: `/v1/edits/${job.id}` },
});

export async function performJob(deps: Dependencies, operation: JobOperation): Promise<JobReply> {
  const jobs = deps.jobs;
  const now = Date.now();
  switch (operation.action) {
    case "createJob": {
      const { selector, edit, rule, action, dryRun } = operation.body;
      const work: JobWork =
        edit !== undefined ? { edit } : rule !== undefined ? { rule } : { action: action as RuleAction };
      return accepted(
        await jobs.createEdit({ selector: defined(selector), work, dryRun, actor: operation.actor }),
      );
    }
    case "reconcile": {
      const { pair, ...rest } = operation.body;
      const spec: ReconcileSpec = {
        ...defined(rest),
        ...(pair ? { pair: [pair[0], pair[1]] as const } : {}),
      };
      return accepted(await jobs.createReconcile(spec, operation.actor));
    }
    case "getJob":
      return { status: 200, body: jobView(await jobs.get(knownJob(operation.jobId)), now) };
    case "listJobs": {
      const page = await jobs.list({
        limit: operation.limit,
        ...(operation.nextToken !== undefined ? { nextToken: operation.nextToken } : {}),
      });
      return {
        status: 200,
        body: {
          items: page.items.map((job) => jobView(job, now)),
          ...(page.nextToken !== undefined ? { nextToken: page.nextToken } : {}),
        },
      };
    }
    case "cancelJob": {
      const job = await jobs.cancel(knownJob(operation.jobId));
      return { status: 200, body: jobView(job, Date.now()) };
    }
    case "resumeJob":
      return accepted(await jobs.resume(knownJob(operation.jobId)));
    case "runJob":
      await jobs.run(operation.jobId);
      return { status: 200, body: { id: operation.jobId } };
    case "sweepJobs": {
      const resumed = await jobs.sweep();
      if (resumed.length > 0) {
        // Each is a runner that stopped without a word (or a lost task): worth seeing, and counting.
        count("JobsResumed", resumed.length);
        logger.warn("stale jobs resumed", { resumed });
      }
      return { status: 200, body: { resumed } };
    }
  }
}

/** An id that cannot be a job id names no job: 404 before any store call. */
function knownJob(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) throw new NotFoundError(`no job ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

/**
 * A job as the API shows it: counts, rate and ETA (remaining / rate, while it runs), the selector and
 * what it does (a rule id or an action; an edit body is not repeated), errors as text, and a dry run's
 * preview. No message content beyond the preview.
 */
export function jobView(job: Job, now: number): Record<string, unknown> {
  const { matched, done, failed, skipped } = job.counts;
  const alive = job.status === "running" && job.runner !== undefined && job.runner.until > now;
  const ratePerSec = alive ? (job.ratePerSec ?? 0) : 0;
  const remaining = Math.max(0, matched - done - failed - skipped);
  const eta =
    alive && !job.dryRun && ratePerSec > 0 && matched > 0 ? Math.ceil(remaining / ratePerSec) : undefined;
  const work = job.work;
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    dryRun: job.dryRun,
    matched,
    done,
    failed,
    skipped,
    ratePerSec,
    ...(eta !== undefined ? { etaSeconds: eta } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
    ...(job.selector !== undefined ? { selector: job.selector } : {}),
    ...(work !== undefined && "rule" in work ? { rule: work.rule } : {}),
    ...(work !== undefined && "action" in work ? { action: work.action } : {}),
    ...(work !== undefined && "edit" in work ? { edit: true } : {}),
    ...(job.reconcile !== undefined ? { reconcile: job.reconcile } : {}),
    ...(job.error !== undefined ? { error: job.error } : {}),
    ...(job.dryRun ? { preview: job.preview ?? [] } : {}),
  };
}

/** exactOptionalPropertyTypes: optional fields are absent, never `undefined`. */
function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as never;
}

export type { JobSelector };
