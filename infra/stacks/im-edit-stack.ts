import { tmpdir } from "node:os";
import { Duration, Stack, Stage } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { type FunctionUrl, FunctionUrlAuthType } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { isCallbackRoute, ROUTES } from "../../functions/http/routes.ts";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/metrics.ts";
import { PROVIDERS } from "../../functions/providers/recorder-providers.ts";
import { AlarmTopic } from "../constructs/alarm-topic.ts";
import { DomainEventBus } from "../constructs/event-bus.ts";
import { EventsQueue } from "../constructs/events-queue.ts";
import { ForwardRelay } from "../constructs/forward-relay.ts";
import { JobSweep } from "../constructs/job-sweep.ts";
import { MessageTable } from "../constructs/message-table.ts";
import { OperatorConsole } from "../constructs/operator-console.ts";
import { addServiceAlarms } from "../constructs/service-alarms.ts";
import { ServiceApi } from "../constructs/service-api.ts";
import { ServiceFunction } from "../constructs/service-function.ts";
import { WorkQueue } from "../constructs/work-queue.ts";
import { addOutputs } from "./outputs.ts";
import { type CallbackIngress, DEFAULTS, type ImEditStackProps } from "./props.ts";
import { bindProviderSecrets, deployedProviders, providerEnvironment } from "./provider-bindings.ts";
import { forwardingProviders } from "./providers.ts";
import { provisionedCapacity, validate } from "./validate.ts";

export type {
  CallbackForwardFallback,
  CallbackIngress,
  ConsoleProps,
  EventsMode,
  FunctionTracing,
  ImEditStackProps,
  TableBilling,
} from "./props.ts";
export type { BindingProps, ProvidersProps, RegisteredProvidersProps } from "./providers.ts";

/** Timeouts. The editor's fits API Gateway's 30 s integration limit; the recorder's covers a drained batch. */
const RECORDER_TIMEOUT = Duration.seconds(10);
const EDITOR_TIMEOUT = Duration.seconds(29);
/** The worker's: Lambda's maximum, so a bulk-job slice gets the longest run a single invocation can have. */
export const WORKER_TIMEOUT = Duration.minutes(15);
/**
 * JOB_SLICE_MS: after this a job slice starts no new work, checkpoints and re-enqueues itself. The 3
 * minutes left before the worker's timeout cover the calls in flight (each bounded by the edit wait
 * budget, at most 25 s, and the provider call's own timeout), the checkpoint and the re-enqueue.
 */
export const JOB_SLICE = Duration.minutes(12);
/**
 * The edit queue's visibility timeout: the worker's timeout and 3 minutes, not AWS's 6×. It is also the
 * delay before a failed or crashed message is received again, and 6 × 15 min would leave a crashed job
 * slice (or a rate-limited queued edit) waiting 90 minutes. The 6× advice leaves room for the event
 * source's retries of throttled invokes; here the event source's maximum concurrency never exceeds the
 * worker's reserved concurrency, so it does not throttle it. Lambda refuses a visibility timeout below
 * the function's timeout.
 */
export const EDIT_QUEUE_VISIBILITY = WORKER_TIMEOUT.plus(Duration.minutes(3));

/**
 * The whole service: the message table, the recorder, editor and worker functions, the callback ingress
 * (the recorder's function URL, or routes on the HTTP API), the HTTP API for /v1, the edit queue and the
 * recorder's durable fallback queue (each with a dead-letter queue, an alarm on it and a redrive command
 * in the outputs), domain events (off, SQS or EventBridge), and alarms.
 *
 * The job runner is the worker: the editor's own bundle and handler (no other code path) consuming the
 * edit queue one message at a time (`batchSize` 1: a job slice may run 12 minutes and must not hold other
 * messages back), with partial batch failures, 5 receives then the dead-letter queue. Consumers put what
 * they give up on in the dead-letter queue themselves, with the reason as message attributes: a refusal at
 * once, a retryable failure on its fifth receive. A bulk job runs
 * in slices: each works for JOB_SLICE_MS, keeps its checkpoint in the message table (job state lives
 * there, no table or index of its own) and re-enqueues its next slice on the same queue, so a job
 * outlives Lambda's 15 minutes without Step Functions (one SQS message and one invocation per 12
 * minutes of work). The editor keeps the API and direct invokes; it only sends to the queue.
 *
 * A crashed slice (the worker's timeout, out of memory, a bug) goes on within about a minute: a scheduled
 * EventBridge rule (`JobSweep`, always on) invokes the editor every minute with `{ "action": "sweepJobs" }`,
 * which queues `runJob` for each job whose runner's heartbeat is stale (and for a job whose queued task
 * has not started for 5 minutes); without it the job would wait for the crashed slice's message to become
 * visible again (18 minutes). The editor sweeps rather than the worker: the edit queue may fill the
 * worker's reserved concurrency, and a throttled sweep would wait (and raise WorkerThrottles). Cost: 43,200
 * invocations a month, each a few ms of a 256 MB Arm function and, when no job is active, one consistent
 * Query of the active-job markers and nothing else: about $0.01 of Lambda requests and well under $0.01 of
 * duration. The Query reads a small marker per queued or running job, never the finished jobs (kept
 * without TTL), so it is 1 read unit: under $0.01 a month of on-demand reads however many jobs are kept;
 * each active job adds its item to one BatchGetItem (1 read unit per 4 KB).
 *
 * Rules (`-c rules=<path>`, or IM_EDIT_RULES at synth) are delivered with the deployment: the file is
 * validated at synth by the functions' own loader (a bad rule fails `cdk synth` with the rule's id or
 * index, the field and the reason) and bundled as `/var/task/rules.json` (YAML converted at synth) beside the code
 * of the recorder (before-send rules, after-send matching), the editor (rule ids in jobs) and the worker
 * (applying rules, rule jobs), with IM_EDIT_RULES pointing at it. With after-send rules the recorder
 * may also send to the edit queue (EDIT_QUEUE_URL), where those rules' edits are queued. A rules change is therefore a deploy:
 * reviewed, versioned with the code, the same in every function from the first invocation, and rolled
 * back with the stack. An SSM parameter or an AppConfig profile would change rules without a deploy,
 * but each cold start (or poll) would add a call and a failure mode in front of the 2 s before-send
 * budget, the functions could run different rule sets for a while, and SSM's 8 KB standard parameters
 * are smaller than a rules file may be; the bundled file costs nothing at run time.
 *
 * The callback relay (a provider's forward URL, e.g. `-c tencentForwardUrl`) puts im-edit in front of
 * the app's own callback handler: the recorder forwards each before-send itself and answers with the
 * app's decision (or the fallback policy), and puts every other verified callback's forward on the
 * forward queue before answering the provider; the forwarder delivers them (at least once, re-signed at
 * each attempt) and dead-letters what the app refuses or never takes. None of it exists without a
 * forward URL: the default stack and its cost are unchanged.
 */
export class ImEditStack extends Stack {
  readonly table: MessageTable;
  readonly recorder: ServiceFunction;
  readonly editor: ServiceFunction;
  /** The job runner: consumes the edit queue with the editor's code. */
  readonly worker: ServiceFunction;
  readonly editQueue: WorkQueue;
  readonly fallbackQueue: WorkQueue;
  /** The schedule that makes jobs whose runner stopped go on (`sweepJobs` on the editor). */
  readonly jobSweep: JobSweep;
  readonly api: ServiceApi;
  readonly alarms: AlarmTopic;
  /** Where domain events go, with `events: "sqs"`. */
  readonly eventsQueue?: EventsQueue;
  /** The bus domain events go to and EditRequested events come from, with `events: "eventbridge"`. */
  readonly eventBus?: DomainEventBus;
  /** The callback relay's forward queue and forwarder, when a provider has a forward URL. */
  readonly relay?: ForwardRelay;
  /** The operator console (bucket, distribution, Cognito), unless the props leave it out. */
  readonly console?: OperatorConsole;
  readonly callbackIngress: CallbackIngress;
  /** The recorder's public URL, when callbacks come in through it (`callbackIngress: "functionUrl"`). */
  readonly callbackUrl?: FunctionUrl;

  constructor(scope: Construct, id: string, props: ImEditStackProps) {
    super(scope, id, props);
    const { rules } = validate(this, props);
    this.callbackIngress = props.callbackIngress ?? DEFAULTS.callbackIngress;
    const functionUrl = this.callbackIngress === "functionUrl";
    // With a function URL nothing throttles in front of the recorder, so its reserved concurrency does.
    const reservedConcurrency =
      props.recorderReservedConcurrency ?? (functionUrl ? DEFAULTS.recorderReservedConcurrency : undefined);

    const provisioned = provisionedCapacity(props);
    this.table = new MessageTable(this, "Messages", {
      ...(provisioned ? { provisioned } : {}),
      ...(props.listings !== undefined ? { listings: props.listings } : {}),
      ...(props.tableEncryptionKeyArn !== undefined
        ? { encryptionKey: Key.fromKeyArn(this, "TableKey", props.tableEncryptionKeyArn) }
        : {}),
    });

    const common: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      ...(props.retentionDays !== undefined ? { RETENTION_DAYS: String(props.retentionDays) } : {}),
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const tracing = props.tracing ?? DEFAULTS.tracing;
    // The rules, when given, ship beside the code of every function that applies or names them.
    const withRules = rules
      ? {
          files: [rules.stage(Stage.of(this)?.assetOutdir ?? tmpdir())],
          environment: { IM_EDIT_RULES: rules.deployedPath },
        }
      : { files: [], environment: {} };
    // The providers deployed (their props given) and what their manifests' CDK bindings make of them.
    const providers = deployedProviders(props, props.manifests ?? PROVIDERS);

    this.recorder = new ServiceFunction(this, "Recorder", {
      entry: "functions/recorder.ts",
      description: "im-edit recorder: provider callbacks and the fallback-queue drain",
      timeout: RECORDER_TIMEOUT,
      logRetention,
      tracing,
      ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
      files: withRules.files,
      environment: { ...common, ...providerEnvironment(providers, "recorder"), ...withRules.environment },
    }).bindTable(this.table);

    this.editor = new ServiceFunction(this, "Editor", {
      entry: "functions/editor.ts",
      description: "im-edit editor: /v1 API and direct invokes",
      timeout: EDITOR_TIMEOUT,
      logRetention,
      tracing,
      files: withRules.files,
      environment: { ...common, ...providerEnvironment(providers, "editor"), ...withRules.environment },
    }).bindTable(this.table);

    // The editor's code, memory and grants; its own timeout, cap and slice length.
    this.worker = new ServiceFunction(this, "Worker", {
      entry: "functions/editor.ts",
      description:
        "im-edit worker: the edit queue (bulk-job slices, after-send rules, EditRequested, queued edits)",
      timeout: WORKER_TIMEOUT,
      logRetention,
      tracing,
      reservedConcurrency: props.workerReservedConcurrency ?? DEFAULTS.workerReservedConcurrency,
      files: withRules.files,
      environment: {
        ...common,
        ...providerEnvironment(providers, "editor"),
        ...withRules.environment,
        JOB_SLICE_MS: String(JOB_SLICE.toMilliseconds()),
      },
    }).bindTable(this.table);

    // The callback relay, when a provider has a forward URL: the recorder forwards before-sends itself and
    // enqueues every other verified callback's forward, which the forwarder delivers. The forwarder loads
    // the recorder's provider settings (its relays, the forward URLs) and secrets; TABLE_NAME because the
    // configuration requires it, with no grant on the table (it never reads or writes it).
    if (forwardingProviders(props.manifests ?? PROVIDERS, props).length > 0) {
      this.relay = new ForwardRelay(this, "Relay", {
        environment: {
          ...common,
          ...providerEnvironment(providers, "recorder"),
          TABLE_NAME: this.table.table.tableName,
        },
        logRetention,
        tracing,
        deliveryTimeoutMs: props.forwardDeliveryTimeoutMs ?? DEFAULTS.forwardDeliveryTimeoutMs,
        maxReceives: props.forwardQueueMaxReceives ?? DEFAULTS.forwardQueueMaxReceives,
        reservedConcurrency: props.forwarderReservedConcurrency ?? DEFAULTS.forwarderReservedConcurrency,
      }).bindRecorder(this.recorder, { timeoutMs: props.forwardTimeoutMs, fallback: props.forwardFallback });
    }

    // Each secret is read by the functions doing the work it guards (NetEase's AppSecret: all, since
    // the recorder verifies message copies with it and the editor and worker sign REST calls; the
    // forwarder signs forwards with the forward secret, or by default with the callback secret).
    bindProviderSecrets(this, providers, {
      recorder: [this.recorder, ...(this.relay ? [this.relay.forwarder] : [])],
      editor: [this.editor, this.worker],
    });

    // A callback the store cannot take within the budget is queued here and drained by the recorder itself.
    this.fallbackQueue = new WorkQueue(this, "FallbackQueue", { consumerTimeout: RECORDER_TIMEOUT });
    this.recorder
      .bindQueueSender("FALLBACK_QUEUE_URL", this.fallbackQueue.queue)
      .consume(this.fallbackQueue.queue);
    // Consumers dead-letter what they give up on themselves, with the reason (FALLBACK_/EDIT_DLQ_URL).
    this.fallbackQueue.bindDeadLetterSender(this.recorder, "FALLBACK");

    // Queued and automatic edits, bulk-job slices, EditRequested events, and the delayed checks that
    // resolve unknown outcomes: the editor enqueues, the worker consumes and re-enqueues job slices.
    this.editQueue = new WorkQueue(this, "EditQueue", {
      consumerTimeout: WORKER_TIMEOUT,
      visibilityTimeout: EDIT_QUEUE_VISIBILITY,
    });
    this.editor.bindQueueSender("EDIT_QUEUE_URL", this.editQueue.queue);
    // After-send rules run through the queue: the recorder enqueues them for what it records.
    if (rules && rules.afterSendCount > 0)
      this.recorder.bindQueueSender("EDIT_QUEUE_URL", this.editQueue.queue);
    this.worker.bindQueueSender("EDIT_QUEUE_URL", this.editQueue.queue).consume(this.editQueue.queue, {
      batchSize: 1,
      maxConcurrency:
        props.editQueueMaxConcurrency ??
        props.workerReservedConcurrency ??
        DEFAULTS.workerReservedConcurrency,
    });
    this.editQueue.bindDeadLetterSender(this.worker, "EDIT");

    // Jobs whose runner stopped without a word go on within about a minute (see the class comment).
    this.jobSweep = new JobSweep(this, "JobSweep", { target: this.editor.function });

    // Domain events, when on: every function publishes (the recorder what it recorded, the others edits).
    const events = props.events ?? DEFAULTS.events;
    const publishers = [this.recorder, this.editor, this.worker];
    if (events === "sqs") {
      this.eventsQueue = new EventsQueue(this, "Events").bindPublishers(...publishers);
    }
    if (events === "eventbridge") {
      this.eventBus = new DomainEventBus(this, "Events", {
        editQueue: this.editQueue,
        ...(props.eventBusName !== undefined ? { busName: props.eventBusName } : {}),
      }).bindPublishers(...publishers);
    }

    // The console first: the API's CORS names its origin; then it gets the API (its role, its config.json).
    if (props.console) {
      this.console = new OperatorConsole(this, "Console", { ...props.console, logRetention });
    }
    this.api = new ServiceApi(this, "Http", {
      functions: { recorder: this.recorder.function, editor: this.editor.function },
      // With a function URL the HTTP API keeps /v1 (and its OpenAPI document) only; its access logs still
      // cover every /v1 call.
      routes: functionUrl ? ROUTES.filter((route) => !isCallbackRoute(route)) : ROUTES,
      logRetention,
      ...(props.apiThrottle ? { apiThrottle: props.apiThrottle } : {}),
      ...(props.callbackThrottle ? { callbackThrottle: props.callbackThrottle } : {}),
      ...(this.console ? { cors: this.console.cors } : {}),
    });
    this.console?.bindApi(this.api.api);

    this.alarms = new AlarmTopic(this, "Alarms", {
      ...(props.alarmEmail !== undefined ? { email: props.alarmEmail } : {}),
    });
    addServiceAlarms(this.alarms, {
      recorder: this.recorder,
      editor: this.editor,
      worker: this.worker,
      editQueue: this.editQueue,
      fallbackQueue: this.fallbackQueue,
      recorderP99Ms: props.recorderP99AlarmMs ?? DEFAULTS.recorderP99AlarmMs,
      ...(reservedConcurrency !== undefined ? { recorderReservedConcurrency: reservedConcurrency } : {}),
    });
    this.relay?.addAlarms(this.alarms, {
      fallbackThreshold: props.forwardFallbackAlarmThreshold ?? DEFAULTS.forwardFallbackAlarmThreshold,
    });
    if (this.eventBus) {
      this.alarms.alarm("EditRequestedUndelivered", {
        description:
          "EventBridge could not deliver EditRequested events to the edit queue (see the error in each " +
          "message's attributes; usually the queue's policy or encryption). Fix it, then put the events " +
          "again (aws events put-events): each message is the whole event.",
        metric: this.eventBus.undelivered.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: "Maximum",
        }),
        threshold: 1,
      });
    }

    if (functionUrl) {
      // Open like the callback routes it replaces: the providers cannot sign with AWS credentials, and the
      // recorder verifies every request in code before anything is stored.
      this.callbackUrl = this.recorder.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    }

    addOutputs(this, { providers, rules });
  }
}
