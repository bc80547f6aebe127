import { existsSync } from "node:fs";
import { join } from "node:path";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { listingsValue } from "../../functions/core/listings.ts";
import { BUNDLE_FILE, type BundledFile, HOUSE_BUNDLING, PROJECT_ROOT, withBundledFiles } from "./bundling.ts";
import type { MessageTable } from "./message-table.ts";
import { isIntegerIn, known, Problems } from "./props.ts";

export interface ServiceFunctionProps {
  /** The handler file, relative to the repository root (e.g. `functions/recorder.ts`); it exports `handler`. */
  readonly entry: string;
  /** @default - none */
  readonly description?: string;
  /**
   * Memory in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * How long the function's own log group keeps logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /** @default - none besides what the `bind*` methods add */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrency reserved for (and capping) this function: its throttle when nothing in front of it throttles.
   * @default - none: the account's unreserved pool
   */
  readonly reservedConcurrency?: number;
  /**
   * X-Ray. `active`: Lambda samples invocations (X-Ray's default rule: the first request each second,
   * then 5 %; $5 per million traces) and the role may write traces. `off`: nothing of its own
   * (PassThrough: Lambda follows only a caller's sampled trace header), no X-Ray grant.
   * @default "off"
   */
  readonly tracing?: FunctionTracing;
  /**
   * Files shipped beside the bundle, at `/var/task/<name>` (e.g. the rules file): part of the asset, so
   * a change to one changes the asset's hash and a deploy updates the function.
   * @default - none
   */
  readonly files?: readonly BundledFile[];
}

/** See `ServiceFunctionProps.tracing`. */
export type FunctionTracing = "off" | "active";
export const FUNCTION_TRACINGS: readonly FunctionTracing[] = ["off", "active"];

/** Lambda's SQS event source is polled in batches; a failed record is retried alone (partial batch response). */
export interface ConsumeOptions {
  /** @default 10 */
  readonly batchSize?: number;
  /**
   * A guard on how many concurrent invocations the queue may drive (2-1000). Not a rate limit.
   * @default - no limit beyond the function's
   */
  readonly maxConcurrency?: number;
}

/**
 * A Lambda function with the house defaults: Node 24 on arm64, an ESM bundle built by the local esbuild
 * (`HOUSE_BUNDLING`), X-Ray tracing off unless asked for, its own log group with retention, JSON logs
 * with Lambda's own lines at WARN (no START/END/REPORT line per invocation: CloudWatch Logs bills
 * every byte, and Lambda's metrics already carry durations), and a role that starts with nothing but
 * writing to that log group. Everything else is granted through the `bind*` methods,
 * each of which sets the environment variable the code reads and grants exactly what the code does.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  /** The handler file, relative to the repository root. */
  readonly entry: string;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    const memorySize = props.memorySize ?? 256;
    const timeout = props.timeout ?? Duration.seconds(10);
    new Problems(`ServiceFunction ${this.node.path}`)
      .check(
        existsSync(join(PROJECT_ROOT, props.entry)),
        `entry: ${props.entry} does not exist under ${PROJECT_ROOT}`,
      )
      .check(
        isIntegerIn(memorySize, 128, 10_240),
        `memorySize: ${memorySize} is not an integer in 128-10240 MB`,
      )
      .check(
        !known(timeout.toSeconds()) || (timeout.toSeconds() >= 1 && timeout.toSeconds() <= 900),
        `timeout: ${timeout.toHumanString()} is not within 1 s-15 min`,
      )
      .check(
        props.reservedConcurrency === undefined || isIntegerIn(props.reservedConcurrency, 1, 10_000),
        `reservedConcurrency: ${props.reservedConcurrency} is not an integer in 1-10000`,
      )
      .check(
        props.tracing === undefined || FUNCTION_TRACINGS.includes(props.tracing),
        `tracing: ${JSON.stringify(props.tracing)} is not one of ${FUNCTION_TRACINGS.join(", ")}`,
      )
      .add(
        (props.files ?? [])
          .filter((file) => !/^[\w.-]+$/.test(file.name) || file.name.startsWith(BUNDLE_FILE))
          .map(
            (file) => `files: ${JSON.stringify(file.name)} is not a plain file name beside ${BUNDLE_FILE}`,
          ),
      )
      .throwIfAny();
    const traced = props.tracing === "active";

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs expire anyway; a deleted stack should not leave them behind (the table is what is kept).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of the default one with AWSLambdaBasicExecutionRole, which may write to any log group.
    this.role = new Role(this, "Role", { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: join(PROJECT_ROOT, props.entry),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, "package-lock.json"),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      // DISABLED leaves TracingConfig out: Lambda's PassThrough.
      tracing: traced ? Tracing.ACTIVE : Tracing.DISABLED,
      role: this.role,
      logGroup: this.logGroup,
      // The code writes JSON lines with a "level" (functions/logger.ts): Lambda filters them at INFO,
      // and its own platform lines (START, END, REPORT at INFO) are dropped below WARN.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      bundling: withBundledFiles(HOUSE_BUNDLING, props.files ?? []),
      ...(props.description !== undefined ? { description: props.description } : {}),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      environment: {
        // Stack traces point into the TypeScript sources through the bundled source map.
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
    });
    if (traced) {
      Validations.of(this.role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level " +
          "permissions, so AWS requires Resource '*' (added by Lambda's Tracing.ACTIVE).",
      });
    }
  }

  /** Sets an environment variable the code reads. */
  setEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * TABLE_NAME and LISTINGS (the listings the table keeps: heads get their keys, what needs another is
   * refused), and the item operations the store uses on the table and its indexes (no Scan, no batch
   * writes, no transactions; batch reads of list pages). With a customer-managed key, the KMS calls DynamoDB makes on our behalf.
   */
  bindTable(table: MessageTable, access: "RO" | "RW" = "RW"): this {
    const tableArn = table.table.tableArn;
    const indexArns = table.indexNames.map((name) => `${tableArn}/index/${name}`);
    // BatchGetItem: a list page reads its heads by key after querying a KEYS_ONLY/INCLUDE index.
    const itemActions =
      access === "RW"
        ? [
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
          ]
        : ["dynamodb:GetItem", "dynamodb:BatchGetItem"];
    this.setEnvironment("TABLE_NAME", table.table.tableName);
    this.setEnvironment("LISTINGS", listingsValue(table.listings));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: itemActions, resources: [tableArn] }));
    // Indexes answer Query only; listing each by name keeps the grant free of wildcards.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["dynamodb:Query"], resources: [tableArn, ...indexArns] }),
    );
    if (table.encryptionKey) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions:
            access === "RW"
              ? ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
              : ["kms:Decrypt", "kms:DescribeKey"],
          resources: [table.encryptionKey.keyArn],
          // Only through DynamoDB: the key is not usable directly with these credentials.
          conditions: {
            StringEquals: { "kms:ViaService": `dynamodb.${Stack.of(this).region}.amazonaws.com` },
          },
        }),
      );
    }
    return this;
  }

  /** `<envName>` = the secret's ARN (the code fetches the value once per cold start), and read access to it alone. */
  bindSecret(envName: string, secret: ISecret): this {
    this.setEnvironment(envName, secret.secretArn);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        // A partial ARN (no random suffix) matches through `-??????`; the stack passes complete ARNs.
        resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
      }),
    );
    secret.encryptionKey?.grantDecrypt(this.role);
    return this;
  }

  /** `<envName>` = the queue's URL, and sqs:SendMessage on it alone. */
  bindQueueSender(envName: string, queue: IQueue): this {
    this.setEnvironment(envName, queue.queueUrl);
    queue.grant(this.role, "sqs:SendMessage");
    queue.encryptionMasterKey?.grantEncryptDecrypt(this.role);
    return this;
  }

  /** Drains `queue` into the handler with partial batch failure reporting (`batchItemFailures`). */
  consume(queue: IQueue, options: ConsumeOptions = {}): this {
    new Problems(`ServiceFunction ${this.node.path}`)
      .check(isIntegerIn(options.batchSize ?? 10, 1, 10), `batchSize: ${options.batchSize} is not in 1-10`)
      .check(
        options.maxConcurrency === undefined || isIntegerIn(options.maxConcurrency, 2, 1000),
        `maxConcurrency: ${options.maxConcurrency} is not an integer in 2-1000`,
      )
      .throwIfAny();
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize ?? 10,
        reportBatchItemFailures: true,
        ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
      }),
    );
    return this;
  }
}
