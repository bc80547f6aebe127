import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type { ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";
import { Key } from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { METRICS_NAMESPACE, MISCONFIGURED_METRIC, SERVICE_NAME } from "../../functions/metrics.ts";
import { NETEASE_REGIONS, type NeteaseRegion } from "../../functions/providers/netease/regions.ts";
import { TENCENT_REGIONS, type TencentRegion } from "../../functions/providers/tencent/regions.ts";
import { AlarmTopic } from "../constructs/alarm-topic.ts";
import { MessageTable } from "../constructs/message-table.ts";
import { isIntegerIn, isSecretArn, known, Problems } from "../constructs/props.ts";
import { ServiceApi } from "../constructs/service-api.ts";
import { ServiceFunction } from "../constructs/service-function.ts";
import { WorkQueue } from "../constructs/work-queue.ts";

export interface TencentProps {
  /** The app's SDKAppID (numeric). */
  readonly sdkAppId: string;
  /**
   * Complete ARN of the Secrets Manager secret holding the console's callback token (a plain string).
   * Mandatory: without it the recorder could not tell Tencent's callbacks from anyone's.
   */
  readonly callbackTokenSecretArn: string;
  /** Complete ARN of the secret holding the app's secret key (plain string), which signs the admin UserSig. */
  readonly secretKeySecretArn: string;
  /**
   * The app administrator account the editor acts as.
   * @default "administrator"
   */
  readonly adminIdentifier?: string;
  /**
   * The app's data center, for the REST API domain.
   * @default "cn"
   */
  readonly region?: TencentRegion;
  /**
   * Also record live-group (AVChatRoom) messages, which can never be edited.
   * @default false
   */
  readonly recordAvChatRoom?: boolean;
}

export interface NeteaseProps {
  readonly appKey: string;
  readonly region: NeteaseRegion;
  /** Complete ARN of the secret holding the AppSecret: signs REST calls and verifies message-copy CheckSums. */
  readonly appSecretSecretArn: string;
}

export interface ImEditStackProps extends StackProps {
  readonly tencent: TencentProps;
  /** @default - NetEase Yunxin not configured */
  readonly netease?: NeteaseProps;
  /**
   * ARN of a customer-managed KMS key (same region) to encrypt the table with.
   * @default - the AWS-managed key `aws/dynamodb`
   */
  readonly tableEncryptionKeyArn?: string;
  /** @default - no subscription to the alarm topic */
  readonly alarmEmail?: string;
  /** @default { rateLimit: 50, burstLimit: 100 } (see ServiceApi) */
  readonly apiThrottle?: ThrottleSettings;
  /** @default { rateLimit: 1000, burstLimit: 2000 } per callback route (see ServiceApi) */
  readonly callbackThrottle?: ThrottleSettings;
  /** @default RetentionDays.ONE_MONTH, for function and access logs */
  readonly logRetention?: RetentionDays;
  /**
   * Messages and their versions expire (DynamoDB TTL) this many days after they are written.
   * @default - kept forever
   */
  readonly retentionDays?: number;
  /**
   * Upper bound on concurrent editor invocations driven by the edit queue: a guard against a flood,
   * not the rate limit (the provider rate limiter, shared in DynamoDB, is).
   * @default 5
   */
  readonly editQueueMaxConcurrency?: number;
  /**
   * The recorder's p99 duration alarm threshold. Tencent waits 2 s for a callback's answer.
   * @default 1500
   */
  readonly recorderP99AlarmMs?: number;
}

/** Timeouts. The editor's fits API Gateway's 30 s integration limit; the recorder's covers a drained batch. */
const RECORDER_TIMEOUT = Duration.seconds(10);
const EDITOR_TIMEOUT = Duration.seconds(29);
const ALARM_PERIOD = Duration.minutes(5);

/**
 * The whole service: the message table, the recorder and editor functions, the HTTP API, the edit queue
 * and the recorder's durable fallback queue (each with a dead-letter queue), and alarms.
 */
export class ImEditStack extends Stack {
  readonly table: MessageTable;
  readonly recorder: ServiceFunction;
  readonly editor: ServiceFunction;
  readonly editQueue: WorkQueue;
  readonly fallbackQueue: WorkQueue;
  readonly api: ServiceApi;
  readonly alarms: AlarmTopic;

  constructor(scope: Construct, id: string, props: ImEditStackProps) {
    super(scope, id, props);
    validate(this, props);
    const { tencent, netease } = props;
    const secret = (name: string, arn: string): ISecret => Secret.fromSecretCompleteArn(this, name, arn);

    this.table = new MessageTable(this, "Messages", {
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
    this.editor
      .bindQueueSender("EDIT_QUEUE_URL", this.editQueue.queue)
      .consume(this.editQueue.queue, { maxConcurrency: props.editQueueMaxConcurrency ?? 5 });

    this.api = new ServiceApi(this, "Http", {
      functions: { recorder: this.recorder.function, editor: this.editor.function },
      logRetention,
      ...(props.apiThrottle ? { apiThrottle: props.apiThrottle } : {}),
      ...(props.callbackThrottle ? { callbackThrottle: props.callbackThrottle } : {}),
    });

    this.alarms = new AlarmTopic(this, "Alarms", {
      ...(props.alarmEmail !== undefined ? { email: props.alarmEmail } : {}),
    });
    this.addAlarms(props.recorderP99AlarmMs ?? 1500);

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output("ApiUrl", this.api.api.apiEndpoint, "HTTP API base URL");
    output(
      "TencentCallbackUrl",
      `${this.api.api.apiEndpoint}/callbacks/tencent`,
      "Tencent console callback URL",
    );
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
    output("TableName", this.table.table.tableName, "message table (retained on stack deletion)");
    output("AlarmTopicArn", this.alarms.topic.topicArn, "subscribe to receive alarms");
  }

  private addAlarms(recorderP99Ms: number): void {
    for (const [name, fn] of [
      ["Recorder", this.recorder],
      ["Editor", this.editor],
    ] as const) {
      this.alarms.alarm(`${name}Errors`, {
        description: `${name} invocations failed (unhandled errors or timeouts). See its log group.`,
        metric: fn.function.metricErrors({ period: ALARM_PERIOD, statistic: "Sum" }),
        threshold: 1,
      });
      this.alarms.alarm(`${name}Throttles`, {
        description: `${name} invocations were throttled: raise the account's concurrency quota.`,
        metric: fn.function.metricThrottles({ period: ALARM_PERIOD, statistic: "Sum" }),
        threshold: 1,
      });
    }
    for (const [name, queue] of [
      ["EditQueue", this.editQueue],
      ["FallbackQueue", this.fallbackQueue],
    ] as const) {
      this.alarms.alarm(`${name}DeadLetters`, {
        description: `${name}: messages failed ${name === "EditQueue" ? "editing" : "recording"} repeatedly and were dead-lettered. Inspect, fix, then redrive.`,
        metric: queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: "Maximum",
        }),
        threshold: 1,
      });
    }
    this.alarms.alarm("FallbackQueueDepth", {
      description:
        "Callbacks were spooled to the fallback queue: DynamoDB did not answer within the callback budget. " +
        "The recorder drains the queue itself; persistent depth means the store is still failing.",
      metric: this.fallbackQueue.queue.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: "Maximum",
      }),
      threshold: 1,
    });
    this.alarms.alarm("Misconfigured", {
      description:
        "Fail closed: a function refused work with 503 misconfigured. A secret resolved empty or to whitespace " +
        "(the recorder then refuses that provider's callbacks, the editor its edits; other providers keep " +
        "working), or the configuration could not be loaded at all. The functions' ERROR log lines name the " +
        "variable. Fix the secret's value: warm functions read it again within a minute.",
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: MISCONFIGURED_METRIC,
        dimensionsMap: { service: SERVICE_NAME },
        period: ALARM_PERIOD,
        statistic: "Sum",
      }),
      threshold: 1,
    });
    this.alarms.alarm("RecorderP99Duration", {
      description:
        `Recorder p99 duration above ${recorderP99Ms} ms: Tencent gives a callback 2 s, and a slow recorder ` +
        "also makes the editor's modify calls fail (error 90992). (Fallback drains run in the same function.)",
      metric: this.recorder.function.metricDuration({ period: ALARM_PERIOD, statistic: "p99" }),
      threshold: recorderP99Ms,
      above: true,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
  }
}

/** Every problem with the props at once, before anything is built. */
function validate(scope: Construct, props: ImEditStackProps): void {
  const problems = new Problems(`ImEditStack ${scope.node.path}`);
  const tencent: Partial<TencentProps> = props.tencent ?? {};
  const sdkAppId = tencent.sdkAppId;
  problems
    .check(
      props.tencent !== undefined,
      "tencent: missing (sdkAppId, callbackTokenSecretArn, secretKeySecretArn)",
    )
    .check(
      typeof sdkAppId === "string" && (!known(sdkAppId) || /^\d{1,20}$/.test(sdkAppId)),
      `tencent.sdkAppId: ${JSON.stringify(sdkAppId)} is not a numeric SDKAppID`,
    )
    .check(
      isSecretArn(tencent.callbackTokenSecretArn),
      `tencent.callbackTokenSecretArn: ${describeArn(tencent.callbackTokenSecretArn)}; the callback token is mandatory in AWS`,
    )
    .check(
      isSecretArn(tencent.secretKeySecretArn),
      `tencent.secretKeySecretArn: ${describeArn(tencent.secretKeySecretArn)}`,
    )
    .check(
      tencent.adminIdentifier === undefined || /^.{1,32}$/u.test(tencent.adminIdentifier),
      `tencent.adminIdentifier: ${JSON.stringify(tencent.adminIdentifier)} is not 1-32 characters`,
    )
    .check(
      tencent.region === undefined || Object.hasOwn(TENCENT_REGIONS, tencent.region),
      `tencent.region: ${JSON.stringify(tencent.region)} is not one of ${Object.keys(TENCENT_REGIONS).join(", ")}`,
    );
  if (props.netease) {
    const { appKey, region, appSecretSecretArn } = props.netease;
    problems
      .check(typeof appKey === "string" && appKey.length > 0, "netease.appKey: missing")
      .check(
        Object.hasOwn(NETEASE_REGIONS, region),
        `netease.region: ${JSON.stringify(region)} is not one of ${Object.keys(NETEASE_REGIONS).join(", ")}`,
      )
      .check(
        isSecretArn(appSecretSecretArn),
        `netease.appSecretSecretArn: ${describeArn(appSecretSecretArn)}`,
      );
  }
  if (props.tableEncryptionKeyArn !== undefined) {
    const keyArn = props.tableEncryptionKeyArn;
    const stackRegion = Stack.of(scope).region;
    const validArn =
      !known(keyArn) ||
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/.test(keyArn);
    const keyRegion = keyArn.split(":")[3];
    problems
      .check(
        validArn,
        `tableEncryptionKeyArn: ${JSON.stringify(keyArn)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
      )
      .check(
        known(stackRegion),
        "tableEncryptionKeyArn: a customer-managed table key needs a region-specific stack (env.region)",
      )
      .check(
        !validArn || !known(stackRegion) || !known(keyArn) || keyRegion === stackRegion,
        `tableEncryptionKeyArn: the key is in ${keyRegion}, the stack in ${stackRegion}; DynamoDB needs the key in the table's region`,
      );
  }
  if (props.retentionDays !== undefined) {
    problems.check(
      isIntegerIn(props.retentionDays, 1, 36_500),
      `retentionDays: ${props.retentionDays} is not an integer in 1-36500`,
    );
  }
  if (props.editQueueMaxConcurrency !== undefined) {
    problems.check(
      isIntegerIn(props.editQueueMaxConcurrency, 2, 1000),
      `editQueueMaxConcurrency: ${props.editQueueMaxConcurrency} is not an integer in 2-1000 (SQS event source limits)`,
    );
  }
  if (props.recorderP99AlarmMs !== undefined) {
    problems.check(
      isIntegerIn(props.recorderP99AlarmMs, 1, 2000),
      `recorderP99AlarmMs: ${props.recorderP99AlarmMs} is not in 1-2000 (Tencent's budget is 2000 ms)`,
    );
  }
  problems
    .add(ServiceApi.problems({ apiThrottle: props.apiThrottle, callbackThrottle: props.callbackThrottle }))
    .add(AlarmTopic.problems({ email: props.alarmEmail }))
    .throwIfAny();
}

const describeArn = (value: unknown): string =>
  value === undefined || value === ""
    ? "missing"
    : `${JSON.stringify(value)} is not a complete Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`;
