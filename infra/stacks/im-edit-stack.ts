import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { type FunctionUrl, FunctionUrlAuthType } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { ROUTES } from "../../functions/http/routes.ts";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/metrics.ts";
import { type FunctionRole, functionsOf, type ProviderManifest } from "../../functions/providers/manifest.ts";
import { PROVIDERS } from "../../functions/providers/recorder-providers.ts";
import { AlarmTopic } from "../constructs/alarm-topic.ts";
import { EventsQueue } from "../constructs/events-queue.ts";
import { MessageTable } from "../constructs/message-table.ts";
import { addServiceAlarms } from "../constructs/service-alarms.ts";
import { ServiceApi } from "../constructs/service-api.ts";
import { ServiceFunction } from "../constructs/service-function.ts";
import { WorkQueue } from "../constructs/work-queue.ts";
import { type CallbackIngress, DEFAULTS, type ImEditStackProps } from "./props.ts";
import { providerProps } from "./providers.ts";
import { provisionedCapacity, validate } from "./validate.ts";

export type {
  CallbackIngress,
  EventsMode,
  FunctionTracing,
  ImEditStackProps,
  TableBilling,
} from "./props.ts";
export type { BindingProps, ProvidersProps, RegisteredProvidersProps } from "./providers.ts";

/** Timeouts. The editor's fits API Gateway's 30 s integration limit; the recorder's covers a drained batch. */
const RECORDER_TIMEOUT = Duration.seconds(10);
const EDITOR_TIMEOUT = Duration.seconds(29);

/**
 * The whole service: the message table, the recorder and editor functions, the callback ingress (the
 * recorder's function URL, or routes on the HTTP API), the HTTP API for /v1, the edit queue and the
 * recorder's durable fallback queue (each with a dead-letter queue), and alarms.
 */
export class ImEditStack extends Stack {
  readonly table: MessageTable;
  readonly recorder: ServiceFunction;
  readonly editor: ServiceFunction;
  readonly editQueue: WorkQueue;
  readonly fallbackQueue: WorkQueue;
  readonly api: ServiceApi;
  readonly alarms: AlarmTopic;
  /** Where domain events go, with `events: "sqs"`. */
  readonly eventsQueue?: EventsQueue;
  readonly callbackIngress: CallbackIngress;
  /** The recorder's public URL, when callbacks come in through it (`callbackIngress: "functionUrl"`). */
  readonly callbackUrl?: FunctionUrl;

  constructor(scope: Construct, id: string, props: ImEditStackProps) {
    super(scope, id, props);
    validate(this, props);
    this.callbackIngress = props.callbackIngress ?? DEFAULTS.callbackIngress;
    const functionUrl = this.callbackIngress === "functionUrl";
    // With a function URL nothing throttles in front of the recorder, so its reserved concurrency does.
    const reservedConcurrency =
      props.recorderReservedConcurrency ?? (functionUrl ? DEFAULTS.recorderReservedConcurrency : undefined);
    const secret = (name: string, arn: string): ISecret => Secret.fromSecretCompleteArn(this, name, arn);

    const provisioned = provisionedCapacity(props);
    this.table = new MessageTable(this, "Messages", {
      ...(provisioned ? { provisioned } : {}),
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
    // The providers deployed (their props given) and what their manifests' CDK bindings make of them.
    const providers = deployedProviders(props, props.manifests ?? PROVIDERS);

    this.recorder = new ServiceFunction(this, "Recorder", {
      entry: "functions/recorder.ts",
      description: "im-edit recorder: provider callbacks and the fallback-queue drain",
      timeout: RECORDER_TIMEOUT,
      logRetention,
      tracing: props.tracing ?? DEFAULTS.tracing,
      ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
      environment: { ...common, ...providerEnvironment(providers, "recorder") },
    }).bindTable(this.table);

    this.editor = new ServiceFunction(this, "Editor", {
      entry: "functions/editor.ts",
      description: "im-edit editor: /v1 API, direct invokes and the edit queue",
      timeout: EDITOR_TIMEOUT,
      logRetention,
      tracing: props.tracing ?? DEFAULTS.tracing,
      environment: { ...common, ...providerEnvironment(providers, "editor") },
    }).bindTable(this.table);

    // Each secret is read by the functions doing the work it guards (NetEase's AppSecret: both, since
    // the recorder verifies message copies with it and the editor signs REST calls).
    const functions = { recorder: this.recorder, editor: this.editor };
    for (const { manifest, props: given } of providers) {
      for (const binding of manifest.cdk.context) {
        const spec = manifest.secrets.find((candidate) => candidate.variable === binding.secret);
        if (!spec) continue;
        const arn = secret(constructId(spec.variable), String(given[binding.prop] ?? ""));
        for (const role of functionsOf(spec)) functions[role].bindSecret(`${spec.variable}_SECRET_ARN`, arn);
      }
    }

    // A callback the store cannot take within the budget is queued here and drained by the recorder itself.
    this.fallbackQueue = new WorkQueue(this, "FallbackQueue", { consumerTimeout: RECORDER_TIMEOUT });
    this.recorder
      .bindQueueSender("FALLBACK_QUEUE_URL", this.fallbackQueue.queue)
      .consume(this.fallbackQueue.queue);

    // Queued and automatic edits, and the editor's own delayed checks that resolve unknown outcomes.
    this.editQueue = new WorkQueue(this, "EditQueue", { consumerTimeout: EDITOR_TIMEOUT });
    this.editor.bindQueueSender("EDIT_QUEUE_URL", this.editQueue.queue).consume(this.editQueue.queue, {
      maxConcurrency: props.editQueueMaxConcurrency ?? DEFAULTS.editQueueMaxConcurrency,
    });

    // Domain events, when on: both functions publish (the recorder what it recorded, the editor its edits).
    if ((props.events ?? DEFAULTS.events) === "sqs") {
      this.eventsQueue = new EventsQueue(this, "Events").bindPublishers(this.recorder, this.editor);
    }

    this.api = new ServiceApi(this, "Http", {
      functions: { recorder: this.recorder.function, editor: this.editor.function },
      // With a function URL the HTTP API keeps /v1 only; its access logs still cover every /v1 call.
      routes: functionUrl ? ROUTES.filter((route) => route.auth !== "none") : ROUTES,
      logRetention,
      ...(props.apiThrottle ? { apiThrottle: props.apiThrottle } : {}),
      ...(props.callbackThrottle ? { callbackThrottle: props.callbackThrottle } : {}),
    });

    this.alarms = new AlarmTopic(this, "Alarms", {
      ...(props.alarmEmail !== undefined ? { email: props.alarmEmail } : {}),
    });
    addServiceAlarms(this.alarms, {
      recorder: this.recorder,
      editor: this.editor,
      editQueue: this.editQueue,
      fallbackQueue: this.fallbackQueue,
      recorderP99Ms: props.recorderP99AlarmMs ?? DEFAULTS.recorderP99AlarmMs,
      ...(reservedConcurrency !== undefined ? { recorderReservedConcurrency: reservedConcurrency } : {}),
    });

    if (functionUrl) {
      // Open like the callback routes it replaces: the providers cannot sign with AWS credentials, and the
      // recorder verifies every request in code before anything is stored.
      this.callbackUrl = this.recorder.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    }
    // The function URL ends in "/"; the HTTP API endpoint does not.
    const callbackBase = this.callbackUrl ? this.callbackUrl.url : `${this.api.api.apiEndpoint}/`;

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output("ApiUrl", this.api.api.apiEndpoint, "HTTP API base URL (/v1)");
    for (const { manifest } of providers) {
      const { id: outputId, description } = manifest.cdk.callbackOutput;
      output(outputId, `${callbackBase}callbacks/${manifest.name}`, description);
    }
    output(
      "ApiInvokeArn",
      this.api.api.arnForExecuteApi("*", "/v1/*", "$default"),
      "execute-api:Invoke resource for /v1 callers' IAM policies",
    );
    output(
      "EditorFunctionName",
      this.editor.function.functionName,
      "for direct invokes (lambda:InvokeFunction)",
    );
    output("EditQueueUrl", this.editQueue.queue.queueUrl, "queued edits");
    if (this.eventsQueue) output("EventsQueueUrl", this.eventsQueue.queue.queueUrl, "domain events");
    output("TableName", this.table.table.tableName, "message table (retained on stack deletion)");
    output("AlarmTopicArn", this.alarms.topic.topicArn, "subscribe to receive alarms");
  }
}

interface DeployedProvider {
  readonly manifest: ProviderManifest;
  readonly props: Readonly<Record<string, unknown>>;
}

/** The registered providers whose props are given (`props[name]`), in registration order. */
function deployedProviders(
  props: ImEditStackProps,
  manifests: readonly ProviderManifest[],
): DeployedProvider[] {
  return manifests.flatMap((manifest) => {
    const given = providerProps(props, manifest);
    return given ? [{ manifest, props: given }] : [];
  });
}

/** The plain variables the providers' CDK bindings set in one function (booleans only when true). */
function providerEnvironment(
  providers: readonly DeployedProvider[],
  role: FunctionRole,
): Record<string, string> {
  const entries = providers.flatMap(({ manifest, props }) =>
    manifest.cdk.context.flatMap((binding): [string, string][] => {
      if (!binding.env?.functions.includes(role)) return [];
      const value = props[binding.prop];
      if (binding.type === "boolean") return value === true ? [[binding.env.variable, "true"]] : [];
      const text = value ?? binding.env.default;
      return text === undefined ? [] : [[binding.env.variable, String(text)]];
    }),
  );
  return Object.fromEntries(entries);
}

/** `TENCENT_CALLBACK_TOKEN` → `TencentCallbackToken` (the imported secret's construct id). */
const constructId = (variable: string): string =>
  variable
    .toLowerCase()
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
