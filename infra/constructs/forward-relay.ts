import { Duration } from "aws-cdk-lib";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { FORWARD_FALLBACK_METRIC, FORWARD_LOST_METRIC } from "../../functions/metrics.ts";
import type { AlarmTopic } from "./alarm-topic.ts";
import { isIntegerIn, Problems } from "./props.ts";
import { ALARM_PERIOD, serviceMetric } from "./service-alarms.ts";
import { type FunctionTracing, ServiceFunction } from "./service-function.ts";
import { WorkQueue } from "./work-queue.ts";

/** Forwards per forwarder invocation, delivered one after the other, each within the delivery timeout. */
export const FORWARDER_BATCH_SIZE = 10;
/** The forwarder's time beyond its batch's deliveries: cold start, signing, dead letters, visibility changes. */
const FORWARDER_MARGIN = Duration.seconds(10);
/**
 * The forward queue's visibility beyond the forwarder's timeout: a batch whose invocation crashed comes
 * back this soon. No 6× room for throttled receives: the event source's guard is the reserved concurrency.
 */
const VISIBILITY_MARGIN = Duration.seconds(30);

/** Lambda's longest timeout bounds a batch of deliveries: 10 × 30 s + the margin. */
const DELIVERY_TIMEOUT_MS = { min: 1000, max: 30_000 } as const;

/** The forwarder's timeout: a whole batch of attempts that each take the full delivery timeout, and the margin. */
export const forwarderTimeout = (deliveryTimeoutMs: number): Duration =>
  Duration.seconds(Math.ceil((FORWARDER_BATCH_SIZE * deliveryTimeoutMs) / 1000)).plus(FORWARDER_MARGIN);

export interface ForwardRelayProps {
  /** The forwarder's environment: the recorder's provider settings (forward URLs), TABLE_NAME and the like. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly tracing: FunctionTracing;
  /** One delivery attempt (FORWARD_TIMEOUT_MS), ms. */
  readonly deliveryTimeoutMs: number;
  /** The forward queue's maxReceiveCount (FORWARD_QUEUE_MAX_RECEIVES). */
  readonly maxReceives: number;
  /** The forwarder's reserved concurrency, and its event source's guard (at least 2). */
  readonly reservedConcurrency: number;
}

/**
 * The asynchronous half of the callback relay: the forward queue (encrypted, TLS only, with its dead-letter
 * queue) the recorder puts each recorded callback's forward on before answering the provider, and the
 * forwarder, which delivers them to the app's own handler (re-signed at each attempt) with partial batch
 * failures, backoff through the message's visibility, and the reason on each dead letter. Before-send
 * callbacks are forwarded synchronously by the recorder itself and never come here.
 */
export class ForwardRelay extends Construct {
  readonly queue: WorkQueue;
  readonly forwarder: ServiceFunction;

  /** Every problem with these values: the constructor throws them, the stack checks them ahead with its own. */
  static problems(props: {
    readonly deliveryTimeoutMs?: number | undefined;
    readonly maxReceives?: number | undefined;
    readonly reservedConcurrency?: number | undefined;
  }): readonly string[] {
    const { deliveryTimeoutMs, maxReceives, reservedConcurrency } = props;
    const { min, max } = DELIVERY_TIMEOUT_MS;
    return new Problems("ForwardRelay")
      .check(
        deliveryTimeoutMs === undefined || isIntegerIn(deliveryTimeoutMs, min, max),
        `forwardDeliveryTimeoutMs: ${deliveryTimeoutMs} is not an integer in ${min}-${max}`,
      )
      .check(
        maxReceives === undefined || isIntegerIn(maxReceives, 1, 1000),
        `forwardQueueMaxReceives: ${maxReceives} is not an integer in 1-1000`,
      )
      .check(
        reservedConcurrency === undefined || isIntegerIn(reservedConcurrency, 2, 1000),
        `forwarderReservedConcurrency: ${reservedConcurrency} is not an integer in 2-1000 (its event source's guard is at least 2)`,
      ).list;
  }

  constructor(scope: Construct, id: string, props: ForwardRelayProps) {
    super(scope, id);
    new Problems(`ForwardRelay ${this.node.path}`).add(ForwardRelay.problems(props)).throwIfAny();
    const timeout = forwarderTimeout(props.deliveryTimeoutMs);

    this.forwarder = new ServiceFunction(this, "Forwarder", {
      entry: "functions/forwarder.ts",
      description: "im-edit forwarder: the forward queue's callbacks to the app's own callback handler",
      timeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      // Caps how hard a backlog (the app back after an outage) hits the app's handler.
      reservedConcurrency: props.reservedConcurrency,
      environment: { ...props.environment, FORWARD_TIMEOUT_MS: String(props.deliveryTimeoutMs) },
    });
    this.queue = new WorkQueue(this, "Queue", {
      consumerTimeout: timeout,
      visibilityTimeout: timeout.plus(VISIBILITY_MARGIN),
      maxReceiveCount: props.maxReceives,
    });
    // FORWARD_QUEUE_URL without SendMessage: the forwarder only changes its messages' visibility (backoff),
    // which consuming grants.
    this.forwarder.setEnvironment("FORWARD_QUEUE_URL", this.queue.queue.queueUrl).consume(this.queue.queue, {
      batchSize: FORWARDER_BATCH_SIZE,
      maxConcurrency: props.reservedConcurrency,
    });
    this.queue.bindDeadLetterSender(this.forwarder, "FORWARD");
  }

  /**
   * The recorder enqueues forwards (FORWARD_QUEUE_URL, sqs:SendMessage on the forward queue alone) and
   * forwards before-sends itself within `timeoutMs` (CALLBACK_FORWARD_TIMEOUT_MS), else `fallback`
   * (CALLBACK_FORWARD_FALLBACK); each set only when given, so the recorder's own defaults apply.
   */
  bindRecorder(
    recorder: ServiceFunction,
    options: { readonly timeoutMs?: number | undefined; readonly fallback?: string | undefined },
  ): this {
    recorder.bindQueueSender("FORWARD_QUEUE_URL", this.queue.queue);
    if (options.timeoutMs !== undefined) {
      recorder.setEnvironment("CALLBACK_FORWARD_TIMEOUT_MS", String(options.timeoutMs));
    }
    if (options.fallback !== undefined)
      recorder.setEnvironment("CALLBACK_FORWARD_FALLBACK", options.fallback);
    return this;
  }

  /**
   * The relay's alarms: the forwarder's errors and throttles, any dead-lettered forward, any forward lost
   * before it was enqueued, and before-sends falling to the fallback policy more than `fallbackThreshold`
   * times in 5 minutes.
   */
  addAlarms(topic: AlarmTopic, options: { readonly fallbackThreshold: number }): void {
    const fn = this.forwarder.function;
    topic.alarm("ForwarderErrors", {
      description:
        "Forwarder invocations failed (unhandled errors or timeouts): their forwards come back after the forward " +
        "queue's visibility timeout. See its log group.",
      metric: fn.metricErrors({ period: ALARM_PERIOD, statistic: "Sum" }),
      threshold: 1,
    });
    topic.alarm("ForwarderThrottles", {
      description:
        "Forwarder invocations were throttled although its event source stays within its reserved concurrency: " +
        "something else invokes it, or its reservation was changed outside the stack (a throttled receive " +
        "counts towards the forward queue's dead letters).",
      metric: fn.metricThrottles({ period: ALARM_PERIOD, statistic: "Sum" }),
      threshold: 1,
    });
    topic.alarm("ForwardQueueDeadLetters", {
      description:
        "Forwards to the app's own callback handler were dead-lettered: refused at once (a 3xx or 4xx answer, an " +
        "unusable forward secret) or failed on every receive (5xx, 408/425/429, timeouts, network errors), each " +
        "with its reason in message attributes (aws sqs receive-message --attribute-names All " +
        "--message-attribute-names All). The app has not received those callbacks: fix the cause, then redrive " +
        "with the stack's ForwardQueueRedrive output (each forward is signed afresh when delivered).",
      metric: this.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: "Maximum",
      }),
      threshold: 1,
    });
    topic.alarm("ForwardLost", {
      description:
        "A callback was recorded and answered, but its forward could not be put on the forward queue: the app's " +
        "handler will not receive it. The recorder's ERROR line names the provider and the error; the callback's own line (same request id) names its message.",
      metric: serviceMetric(FORWARD_LOST_METRIC),
      threshold: 1,
    });
    topic.alarm("ForwardFallback", {
      description:
        `More than ${options.fallbackThreshold} before-send callbacks in 5 minutes got the fallback policy ` +
        "(CALLBACK_FORWARD_FALLBACK) instead of the app's answer: its handler was down, slower than " +
        "CALLBACK_FORWARD_TIMEOUT_MS, answered a non-200 or an invalid envelope. The recorder's log lines give " +
        "the reason of each.",
      metric: serviceMetric(FORWARD_FALLBACK_METRIC),
      threshold: options.fallbackThreshold,
      above: true,
    });
  }
}
