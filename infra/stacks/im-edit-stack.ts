import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { type FunctionUrl, FunctionUrlAuthType } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { ROUTES } from "../../functions/http/routes.ts";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/metrics.ts";
import { AlarmTopic } from "../constructs/alarm-topic.ts";
import { EventsQueue } from "../constructs/events-queue.ts";
import { MessageTable } from "../constructs/message-table.ts";
import { addServiceAlarms } from "../constructs/service-alarms.ts";
import { ServiceApi } from "../constructs/service-api.ts";
import { ServiceFunction } from "../constructs/service-function.ts";
import { WorkQueue } from "../constructs/work-queue.ts";
import { type CallbackIngress, DEFAULTS, type ImEditStackProps } from "./props.ts";
import { provisionedCapacity, validate } from "./validate.ts";

export type {
  CallbackIngress,
  EventsMode,
  ImEditStackProps,
  NeteaseProps,
  TableBilling,
  TencentProps,
} from "./props.ts";

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
    const { tencent, netease } = props;
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
      TENCENT_SDKAPPID: tencent.sdkAppId,
      TENCENT_ADMIN_IDENTIFIER: tencent.adminIdentifier ?? "administrator",
      ...(props.retentionDays !== undefined ? { RETENTION_DAYS: String(props.retentionDays) } : {}),
      ...(netease ? { NETEASE_APP_KEY: netease.appKey, NETEASE_REGION: netease.region } : {}),
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const neteaseSecret = netease && secret("NeteaseAppSecret", netease.appSecretSecretArn);

    this.recorder = new ServiceFunction(this, "Recorder", {
      entry: "functions/recorder.ts",
      description: "im-edit recorder: provider callbacks and the fallback-queue drain",
      timeout: RECORDER_TIMEOUT,
      logRetention,
      ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
      environment: {
        ...common,
        ...(tencent.recordAvChatRoom ? { TENCENT_RECORD_AVCHATROOM: "true" } : {}),
      },
    })
      .bindTable(this.table)
      .bindSecret(
        "TENCENT_CALLBACK_TOKEN_SECRET_ARN",
        secret("TencentCallbackToken", tencent.callbackTokenSecretArn),
      );
    // The recorder verifies NetEase message copies with the AppSecret (CheckSum), so it reads that one too.
    if (neteaseSecret) this.recorder.bindSecret("NETEASE_APP_SECRET_SECRET_ARN", neteaseSecret);

    this.editor = new ServiceFunction(this, "Editor", {
      entry: "functions/editor.ts",
      description: "im-edit editor: /v1 API, direct invokes and the edit queue",
      timeout: EDITOR_TIMEOUT,
      logRetention,
      environment: { ...common, TENCENT_REGION: tencent.region ?? "cn" },
    })
      .bindTable(this.table)
      .bindSecret("TENCENT_SECRET_KEY_SECRET_ARN", secret("TencentSecretKey", tencent.secretKeySecretArn));
    if (neteaseSecret) this.editor.bindSecret("NETEASE_APP_SECRET_SECRET_ARN", neteaseSecret);

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
    output("TencentCallbackUrl", `${callbackBase}callbacks/tencent`, "Tencent console callback URL");
    if (netease) {
      output("NeteaseCallbackUrl", `${callbackBase}callbacks/netease`, "Yunxin message copy URL");
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
