import { Duration } from "aws-cdk-lib";
import { Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

/** How often stale bulk jobs are looked for: a crashed slice goes on within about this (plus 10 s). */
export const JOB_SWEEP_RATE = Duration.minutes(1);
/** The direct-invoke payload the schedule sends (the `sweepJobs` operation, functions/api/jobs.ts). */
export const JOB_SWEEP_INPUT = { action: "sweepJobs" } as const;

export interface JobSweepProps {
  /** The function that sweeps: it reads the job table and sends `runJob` to the edit queue. */
  readonly target: IFunction;
}

/**
 * A scheduled EventBridge rule (default bus) invoking `target` every minute with `{ "action": "sweepJobs" }`:
 * a bulk job whose runner stopped without a word (a slice's timeout, out of memory, a crash) gets a new
 * `runJob` on the edit queue, instead of waiting for the queue to make the crashed slice's message visible
 * again (the edit queue's visibility timeout, 18 minutes). Least privilege without a role: the function's
 * resource policy lets this rule (its ARN as the source) invoke this function, and nothing else.
 *
 * A sweep that cannot be delivered is worth little once the next one is due: EventBridge retries twice
 * within a minute, then drops it (no dead-letter queue: the next minute sweeps again).
 */
export class JobSweep extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: JobSweepProps) {
    super(scope, id);
    this.rule = new Rule(this, "Schedule", {
      description: "im-edit: every minute, bulk jobs whose runner stopped (stale heartbeat) go on",
      schedule: Schedule.rate(JOB_SWEEP_RATE),
      targets: [
        new LambdaFunction(props.target, {
          event: RuleTargetInput.fromObject(JOB_SWEEP_INPUT),
          retryAttempts: 2,
          maxEventAge: JOB_SWEEP_RATE,
        }),
      ],
    });
  }
}
