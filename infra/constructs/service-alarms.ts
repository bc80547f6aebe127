import { Duration } from "aws-cdk-lib";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";
import { METRICS_NAMESPACE, MISCONFIGURED_METRIC, SERVICE_NAME } from "../../functions/metrics.ts";
import type { AlarmTopic } from "./alarm-topic.ts";
import type { ServiceFunction } from "./service-function.ts";
import type { WorkQueue } from "./work-queue.ts";

export interface ServiceAlarmsProps {
  readonly recorder: ServiceFunction;
  readonly editor: ServiceFunction;
  /** The edit queue's consumer (the job runner). */
  readonly worker: ServiceFunction;
  readonly editQueue: WorkQueue;
  readonly fallbackQueue: WorkQueue;
  /** The recorder's p99 duration threshold, ms. */
  readonly recorderP99Ms: number;
  /** The recorder's reserved concurrency, when it has one: its throttles then mean that cap was reached. */
  readonly recorderReservedConcurrency?: number;
}

export const ALARM_PERIOD = Duration.minutes(5);

/** A count the functions publish (EMF, namespace ImEdit, `service` dimension), summed over ALARM_PERIOD. */
export const serviceMetric = (metricName: string): Metric =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    period: ALARM_PERIOD,
    statistic: "Sum",
  });

/**
 * The service's alarms, each on `topic`: failed and throttled invocations, dead letters, a fallback queue
 * that fills, refusals for a misconfigured secret, and a recorder too slow for Tencent's callback budget.
 */
export function addServiceAlarms(topic: AlarmTopic, props: ServiceAlarmsProps): void {
  const { recorder, editor, worker, editQueue, fallbackQueue, recorderP99Ms } = props;
  const throttleAdvice = {
    Recorder:
      props.recorderReservedConcurrency !== undefined
        ? `the recorder reached its reserved concurrency (${props.recorderReservedConcurrency}): callbacks ` +
          "were refused with 429 and providers do not retry them. Raise -c recorderReservedConcurrency."
        : "raise the account's concurrency quota.",
    Editor: "raise the account's concurrency quota.",
    Worker:
      "the edit queue drove the worker past its reserved concurrency: keep editQueueMaxConcurrency at or " +
      "below workerReservedConcurrency (a throttled receive counts towards the dead-letter queue).",
  };
  for (const [name, fn] of [
    ["Recorder", recorder],
    ["Editor", editor],
    ["Worker", worker],
  ] as const) {
    topic.alarm(`${name}Errors`, {
      description: `${name} invocations failed (unhandled errors or timeouts). See its log group.`,
      metric: fn.function.metricErrors({ period: ALARM_PERIOD, statistic: "Sum" }),
      threshold: 1,
    });
    topic.alarm(`${name}Throttles`, {
      description: `${name} invocations were throttled: ${throttleAdvice[name]}`,
      metric: fn.function.metricThrottles({ period: ALARM_PERIOD, statistic: "Sum" }),
      threshold: 1,
    });
  }
  for (const [name, queue] of [
    ["EditQueue", editQueue],
    ["FallbackQueue", fallbackQueue],
  ] as const) {
    topic.alarm(`${name}DeadLetters`, {
      description:
        `${name}: messages were refused or failed ${name === "EditQueue" ? "editing (or a job slice failed)" : "recording"} ` +
        "repeatedly and were dead-lettered, each with its reason in message attributes (aws sqs receive-message " +
        "--attribute-names All --message-attribute-names All). Fix the cause, then redrive with the stack's " +
        `${name}Redrive output (aws sqs start-message-move-task).`,
      metric: queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: "Maximum",
      }),
      threshold: 1,
    });
  }
  topic.alarm("FallbackQueueDepth", {
    description:
      "Callbacks were spooled to the fallback queue: DynamoDB did not answer within the callback budget. " +
      "The recorder drains the queue itself; persistent depth means the store is still failing.",
    metric: fallbackQueue.queue.metricApproximateNumberOfMessagesVisible({
      period: ALARM_PERIOD,
      statistic: "Maximum",
    }),
    threshold: 1,
  });
  topic.alarm("Misconfigured", {
    description:
      "Fail closed: a function refused work with 503 misconfigured. A secret resolved empty or to whitespace " +
      "(the recorder then refuses that provider's callbacks, the editor its edits; other providers keep " +
      "working), or the configuration could not be loaded at all. The functions' ERROR log lines name the " +
      "variable. Fix the secret's value: warm functions read it again within a minute.",
    metric: serviceMetric(MISCONFIGURED_METRIC),
    threshold: 1,
  });
  topic.alarm("RecorderP99Duration", {
    description:
      `Recorder p99 duration above ${recorderP99Ms} ms: Tencent gives a callback 2 s, and a slow recorder ` +
      "also makes the editor's modify calls fail (error 90992). (Fallback drains run in the same function.)",
    metric: recorder.function.metricDuration({ period: ALARM_PERIOD, statistic: "p99" }),
    threshold: recorderP99Ms,
    above: true,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
  });
}
