import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { NeteaseRegion } from "../functions/providers/netease/regions.ts";
import type { TencentRegion } from "../functions/providers/tencent/regions.ts";
import type { CapacityRange } from "./constructs/message-table.ts";
import type {
  CallbackIngress,
  EventsMode,
  FunctionTracing,
  ImEditStackProps,
  TableBilling,
} from "./stacks/im-edit-stack.ts";
import { DEFAULTS } from "./stacks/props.ts";

/**
 * The app's parameters, read from CDK context (`-c key=value` or cdk.json "context"). Only presence and
 * type are checked here; the stack validates the values themselves and reports every problem at once.
 */
export const CONTEXT = {
  sdkAppId: "required: Tencent SDKAppID (numeric)",
  callbackTokenSecretArn: "required: ARN of the secret holding the Tencent callback token",
  secretKeySecretArn: "required: ARN of the secret holding the Tencent app secret key",
  tencentRegion: "Tencent data center: cn, sgp, kr, jpn, ger, ind, usa, idn (default cn)",
  adminIdentifier: "Tencent admin account the editor acts as (default administrator)",
  recordAvChatRoom: "true to record live-group messages (default false)",
  neteaseAppKey: "NetEase Yunxin AppKey (with neteaseRegion and neteaseAppSecretSecretArn)",
  neteaseRegion: "NetEase Yunxin region: cn or sg",
  neteaseAppSecretSecretArn: "ARN of the secret holding the NetEase AppSecret",
  tableKmsKeyArn:
    "customer-managed KMS key ARN for the table (default aws/dynamodb); deploys to the key's region",
  alarmEmail: "email address subscribed to the alarm topic",
  retentionDays: "expire messages after this many days (default never)",
  logRetentionDays: "log retention in days, one of CloudWatch's values (default 30)",
  callbackIngress:
    "functionUrl (default: the recorder's Lambda function URL, no request charge) or httpApi (HTTP API routes, $1.00/M)",
  recorderReservedConcurrency:
    "the recorder's reserved concurrency: the callback throttle with functionUrl (default 50)",
  billing: "table billing: onDemand (default) or provisioned (auto scaling to 70% utilization)",
  readCapacityMin: "billing=provisioned: read capacity units, minimum, table and each index (default 5)",
  readCapacityMax: "billing=provisioned: read capacity units, maximum (default 200)",
  writeCapacityMin: "billing=provisioned: write capacity units, minimum, table and each index (default 5)",
  writeCapacityMax: "billing=provisioned: write capacity units, maximum (default 200)",
  events:
    "domain events: off (default) or sqs (an events queue the functions publish to, $0.40 per million messages)",
  tracing:
    "X-Ray tracing of both functions: off (default) or active (about $0.25 per million at sustained traffic, up to $5)",
  stackName: "stack name (default ImEdit), to deploy more than one copy",
} as const;

export type ContextKey = keyof typeof CONTEXT;

export type ContextResult =
  | { readonly ok: true; readonly stackName: string; readonly props: ImEditStackProps }
  | { readonly ok: false; readonly message: string };

/** `read` is `(key) => app.node.tryGetContext(key)`. */
export function propsFromContext(read: (key: ContextKey) => unknown): ContextResult {
  const problems: string[] = [];
  const text = (key: ContextKey): string | undefined => {
    const value = read(key);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      return String(value);
    problems.push(`-c ${key}: expected a string, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const integer = (key: ContextKey): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) problems.push(`-c ${key}: ${JSON.stringify(value)} is not a whole number`);
    return Number(value);
  };

  const missing: ContextKey[] = (
    ["sdkAppId", "callbackTokenSecretArn", "secretKeySecretArn"] as const
  ).filter((key) => text(key) === undefined);
  const neteaseKeys = ["neteaseAppKey", "neteaseRegion", "neteaseAppSecretSecretArn"] as const;
  const neteaseGiven = neteaseKeys.filter((key) => text(key) !== undefined);
  if (neteaseGiven.length > 0 && neteaseGiven.length < neteaseKeys.length) {
    missing.push(...neteaseKeys.filter((key) => !neteaseGiven.includes(key)));
  }
  const recordAvChatRoom = text("recordAvChatRoom");
  if (recordAvChatRoom !== undefined && recordAvChatRoom !== "true" && recordAvChatRoom !== "false") {
    problems.push(`-c recordAvChatRoom: ${JSON.stringify(recordAvChatRoom)} is not true or false`);
  }
  const logRetentionDays = integer("logRetentionDays");
  if (logRetentionDays !== undefined && !Object.values(RetentionDays).includes(logRetentionDays)) {
    problems.push(
      `-c logRetentionDays: ${logRetentionDays} is not a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, ...)`,
    );
  }
  const retentionDays = integer("retentionDays");
  const recorderReservedConcurrency = integer("recorderReservedConcurrency");
  const billing = text("billing");
  const capacity = {
    readMin: integer("readCapacityMin"),
    readMax: integer("readCapacityMax"),
    writeMin: integer("writeCapacityMin"),
    writeMax: integer("writeCapacityMax"),
  };
  const capacityGiven = Object.values(capacity).some((value) => value !== undefined);
  if (capacityGiven && billing !== "provisioned") {
    problems.push(
      "-c readCapacityMin/readCapacityMax/writeCapacityMin/writeCapacityMax: apply with -c billing=provisioned only",
    );
  }

  if (missing.length > 0 || problems.length > 0) {
    const lines = [
      ...(missing.length > 0
        ? ["Missing context:", ...missing.map((key) => `  -c ${key}=...   ${CONTEXT[key]}`)]
        : []),
      ...problems,
      "",
      "For example (see README, Deploy to AWS):",
      "  npx cdk deploy -c sdkAppId=1400000000 \\",
      "    -c callbackTokenSecretArn=arn:aws:secretsmanager:<region>:<account>:secret:im-edit/tencent-callback-token-AbCdEf \\",
      "    -c secretKeySecretArn=arn:aws:secretsmanager:<region>:<account>:secret:im-edit/tencent-secret-key-AbCdEf",
      "",
      "All parameters:",
      ...Object.entries(CONTEXT).map(([key, description]) => `  ${key.padEnd(26)} ${description}`),
    ];
    return { ok: false, message: lines.join("\n") };
  }

  const neteaseAppKey = text("neteaseAppKey");
  const adminIdentifier = text("adminIdentifier");
  const tableKmsKeyArn = text("tableKmsKeyArn");
  const alarmEmail = text("alarmEmail");
  const callbackIngress = text("callbackIngress");
  const events = text("events");
  const tracing = text("tracing");
  const defaults = DEFAULTS.provisionedCapacity;
  const range = (min: number | undefined, max: number | undefined, otherwise: CapacityRange) => ({
    min: min ?? otherwise.min,
    max: max ?? otherwise.max,
  });
  return {
    ok: true,
    stackName: text("stackName") ?? "ImEdit",
    props: {
      // A customer-managed table key pins the stack to the key's region (DynamoDB needs them together).
      ...(tableKmsKeyArn !== undefined ? { env: { region: tableKmsKeyArn.split(":")[3] ?? "" } } : {}),
      description: "im-edit: record and edit sent messages on Tencent Cloud Chat and NetEase Yunxin",
      tencent: {
        // Checked for presence above.
        sdkAppId: text("sdkAppId") ?? "",
        callbackTokenSecretArn: text("callbackTokenSecretArn") ?? "",
        secretKeySecretArn: text("secretKeySecretArn") ?? "",
        ...(adminIdentifier !== undefined ? { adminIdentifier } : {}),
        // The stack checks the value against the region table.
        ...(text("tencentRegion") !== undefined ? { region: text("tencentRegion") as TencentRegion } : {}),
        ...(recordAvChatRoom === "true" ? { recordAvChatRoom: true } : {}),
      },
      ...(neteaseAppKey !== undefined
        ? {
            netease: {
              appKey: neteaseAppKey,
              region: text("neteaseRegion") as NeteaseRegion,
              appSecretSecretArn: text("neteaseAppSecretSecretArn") ?? "",
            },
          }
        : {}),
      ...(tableKmsKeyArn !== undefined ? { tableEncryptionKeyArn: tableKmsKeyArn } : {}),
      ...(alarmEmail !== undefined ? { alarmEmail } : {}),
      ...(retentionDays !== undefined ? { retentionDays } : {}),
      ...(logRetentionDays !== undefined ? { logRetention: logRetentionDays as RetentionDays } : {}),
      // The stack checks these values (one of, ranges) and names any it refuses.
      ...(callbackIngress !== undefined ? { callbackIngress: callbackIngress as CallbackIngress } : {}),
      ...(recorderReservedConcurrency !== undefined ? { recorderReservedConcurrency } : {}),
      ...(billing !== undefined ? { billing: billing as TableBilling } : {}),
      ...(events !== undefined ? { events: events as EventsMode } : {}),
      ...(tracing !== undefined ? { tracing: tracing as FunctionTracing } : {}),
      ...(capacityGiven
        ? {
            provisionedCapacity: {
              read: range(capacity.readMin, capacity.readMax, defaults.read),
              write: range(capacity.writeMin, capacity.writeMax, defaults.write),
            },
          }
        : {}),
    },
  };
}
