import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { DEFAULT_OUT_DIR } from "../console/build.ts";
import { LISTING_NAMES, type Listing, parseListings } from "../functions/core/listings.ts";
import type { ProviderManifest } from "../functions/providers/manifest.ts";
import { PROVIDERS } from "../functions/providers/recorder-providers.ts";
import type { CapacityRange } from "./constructs/message-table.ts";
import type {
  CallbackForwardFallback,
  CallbackIngress,
  EventsMode,
  FunctionTracing,
  ImEditStackProps,
  TableBilling,
} from "./stacks/im-edit-stack.ts";
import { DEFAULTS } from "./stacks/props.ts";
import type { RegisteredProvidersProps } from "./stacks/providers.ts";

/**
 * The app's parameters, read from CDK context (`-c key=value` or cdk.json "context"). Only presence and
 * type are checked here; the stack validates the values themselves and reports every problem at once.
 * The providers' keys come from their manifests' CDK bindings (`cdk.context`), the service's are below.
 */
export const SERVICE_CONTEXT = {
  tableKmsKeyArn:
    "customer-managed KMS key ARN for the table (default aws/dynamodb); deploys to the key's region",
  alarmEmail: "email address subscribed to the alarm topic",
  retentionDays: "expire messages after this many days (default never)",
  listings:
    "listings kept, each an index and 1 WRU per message: conversation,app (default), conversation, app or none (README, Storage: Listings)",
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
    "domain events: off (default), sqs (an events queue the functions publish to, $0.40 per million events) or eventbridge (a bus, $1.00 per million; EditRequested events on it go to the edit queue)",
  eventBus:
    "events=eventbridge: an existing bus by name (default: the account's default bus); default a bus of the stack",
  rules:
    "rules file (JSON or YAML), validated at synth and bundled with the functions (default IM_EDIT_RULES, else none)",
  workerReservedConcurrency:
    "the job runner's reserved concurrency: edit-queue messages (job slices, rules, queued edits) at once (default 10)",
  tracing:
    "X-Ray tracing of both functions: off (default) or active (about $0.25 per million at sustained traffic, up to $5)",
  forwardTimeoutMs:
    "callback relay: how long a before-send waits for your app's handler, ms (1-1800, default 1200)",
  forwardFallback:
    "callback relay: a before-send's answer when your app's handler fails or is late: allow (default), block or block:<code>",
  forwarderReservedConcurrency:
    "callback relay: the forwarder's reserved concurrency, forwards delivered at once in batches of 10 (default 5)",
  console:
    "the operator console: on (default: S3 + CloudFront + Cognito, nothing at rest under 10,000 operators a month) or off",
  consoleDomainPrefix:
    "the console's sign-in domain, <prefix>.auth.<region>.amazoncognito.com, unique in the region (default <stack name>-<account>)",
  stackName: "stack name (default ImEdit), to deploy more than one copy",
} as const;

/** Every `-c` key with what it means: the providers' (registration order), then the service's. */
export function contextKeys(
  manifests: readonly ProviderManifest[] = PROVIDERS,
): Readonly<Record<string, string>> {
  return {
    ...Object.fromEntries(
      manifests.flatMap((manifest) =>
        manifest.cdk.context.map((binding) => [binding.key, binding.description]),
      ),
    ),
    ...SERVICE_CONTEXT,
  };
}

export const CONTEXT = contextKeys();

/** Where the CDK app builds the console (console/build.ts's own default, gitignored) for the stack's bucket. */
export const CONSOLE_BUILD_DIR = DEFAULT_OUT_DIR;

export type ContextKey = string;

export type ContextResult =
  | { readonly ok: true; readonly stackName: string; readonly props: ImEditStackProps }
  | { readonly ok: false; readonly message: string };

/**
 * `read` is `(key) => app.node.tryGetContext(key)`; `env` the synth's environment (infra/app.ts passes
 * `process.env`), where IM_EDIT_RULES names the rules file when `-c rules` does not.
 */
export function propsFromContext(
  read: (key: ContextKey) => unknown,
  manifests: readonly ProviderManifest[] = PROVIDERS,
  env: Readonly<Record<string, string | undefined>> = {},
): ContextResult {
  const problems: string[] = [];
  const keys = contextKeys(manifests);
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

  // A required provider's required keys; an optional provider's all of them once any of its keys is given.
  const missing: ContextKey[] = [];
  const given = manifests.filter((manifest) => {
    const bindings = manifest.cdk.context;
    const present = manifest.cdk.presence === "required" || bindings.some((b) => text(b.key) !== undefined);
    if (present)
      missing.push(...bindings.filter((b) => b.required && text(b.key) === undefined).map((b) => b.key));
    return present;
  });
  for (const binding of manifests.flatMap((manifest) => manifest.cdk.context)) {
    const value = binding.type === "boolean" ? text(binding.key) : undefined;
    if (value !== undefined && value !== "true" && value !== "false") {
      problems.push(`-c ${binding.key}: ${JSON.stringify(value)} is not true or false`);
    }
  }
  const logRetentionDays = integer("logRetentionDays");
  if (logRetentionDays !== undefined && !Object.values(RetentionDays).includes(logRetentionDays)) {
    problems.push(
      `-c logRetentionDays: ${logRetentionDays} is not a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, ...)`,
    );
  }
  const retentionDays = integer("retentionDays");
  const recorderReservedConcurrency = integer("recorderReservedConcurrency");
  const workerReservedConcurrency = integer("workerReservedConcurrency");
  const forwardTimeoutMs = integer("forwardTimeoutMs");
  const forwarderReservedConcurrency = integer("forwarderReservedConcurrency");
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

  const listingsText = text("listings");
  const listings = listingsText === undefined ? undefined : parseListings(listingsText);
  if (listingsText !== undefined && listings === undefined) {
    problems.push(
      `-c listings: ${JSON.stringify(listingsText)} is not one of conversation,app (the default), conversation, app, none`,
    );
  }

  const consoleMode = text("console");
  const consoleDomainPrefix = text("consoleDomainPrefix");
  if (consoleMode !== undefined && consoleMode !== "on" && consoleMode !== "off") {
    problems.push(`-c console: ${JSON.stringify(consoleMode)} is not on or off`);
  }
  if (consoleMode === "off" && consoleDomainPrefix !== undefined) {
    problems.push("-c consoleDomainPrefix: applies with the console on, not with -c console=off");
  }

  if (missing.length > 0 || problems.length > 0) {
    const width = Math.max(...Object.keys(keys).map((key) => key.length));
    const lines = [
      ...(missing.length > 0
        ? ["Missing context:", ...missing.map((key) => `  -c ${key}=...   ${keys[key]}`)]
        : []),
      ...problems,
      "",
      "For example (see README, Deploy to AWS):",
      ...example(manifests),
      "",
      "All parameters:",
      ...Object.entries(keys).map(([key, description]) => `  ${key.padEnd(width)} ${description}`),
    ];
    return { ok: false, message: lines.join("\n") };
  }

  const tableKmsKeyArn = text("tableKmsKeyArn");
  const alarmEmail = text("alarmEmail");
  const callbackIngress = text("callbackIngress");
  const events = text("events");
  const eventBusName = text("eventBus");
  const rulesFile = text("rules") ?? (env.IM_EDIT_RULES || undefined);
  const tracing = text("tracing");
  const forwardFallback = text("forwardFallback");
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
      // Each provider's props from its bindings (the stack checks the values against the manifest).
      ...(Object.fromEntries(
        given.map((manifest) => [manifest.name, bindingProps(manifest, text)]),
      ) as RegisteredProvidersProps),
      ...(tableKmsKeyArn !== undefined ? { tableEncryptionKeyArn: tableKmsKeyArn } : {}),
      ...(alarmEmail !== undefined ? { alarmEmail } : {}),
      ...(retentionDays !== undefined ? { retentionDays } : {}),
      ...(listings !== undefined
        ? { listings: LISTING_NAMES.filter((name): name is Listing => listings.has(name)) }
        : {}),
      ...(logRetentionDays !== undefined ? { logRetention: logRetentionDays as RetentionDays } : {}),
      // The stack checks these values (one of, ranges) and names any it refuses.
      ...(callbackIngress !== undefined ? { callbackIngress: callbackIngress as CallbackIngress } : {}),
      ...(recorderReservedConcurrency !== undefined ? { recorderReservedConcurrency } : {}),
      ...(billing !== undefined ? { billing: billing as TableBilling } : {}),
      ...(events !== undefined ? { events: events as EventsMode } : {}),
      ...(eventBusName !== undefined ? { eventBusName } : {}),
      ...(rulesFile !== undefined ? { rulesFile } : {}),
      ...(workerReservedConcurrency !== undefined ? { workerReservedConcurrency } : {}),
      ...(tracing !== undefined ? { tracing: tracing as FunctionTracing } : {}),
      ...(forwardTimeoutMs !== undefined ? { forwardTimeoutMs } : {}),
      ...(forwardFallback !== undefined
        ? { forwardFallback: forwardFallback as CallbackForwardFallback }
        : {}),
      ...(forwarderReservedConcurrency !== undefined ? { forwarderReservedConcurrency } : {}),
      // The CDK app builds the console into assetsPath before the stack reads it (infra/app.ts).
      ...(consoleMode !== "off"
        ? {
            console: {
              assetsPath: CONSOLE_BUILD_DIR,
              ...(consoleDomainPrefix !== undefined ? { domainPrefix: consoleDomainPrefix } : {}),
            },
          }
        : {}),
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

/** A provider's props from its bindings' keys: strings as given, booleans only when true. */
function bindingProps(
  manifest: ProviderManifest,
  text: (key: ContextKey) => string | undefined,
): Record<string, string | boolean> {
  const entries = manifest.cdk.context.flatMap((binding): [string, string | boolean][] => {
    const value = text(binding.key);
    if (value === undefined) return [];
    if (binding.type === "boolean") return value === "true" ? [[binding.prop, true]] : [];
    return [[binding.prop, value]];
  });
  return Object.fromEntries(entries);
}

/** `npx cdk deploy` with the required providers' required keys (a secret's as an example ARN). */
function example(manifests: readonly ProviderManifest[]): string[] {
  const required = manifests
    .filter((manifest) => manifest.cdk.presence === "required")
    .flatMap((manifest) => manifest.cdk.context.filter((binding) => binding.required));
  const value = (binding: (typeof required)[number]) =>
    binding.secret !== undefined
      ? `arn:aws:secretsmanager:<region>:<account>:secret:im-edit/${binding.secret.toLowerCase().replaceAll("_", "-")}-AbCdEf`
      : `<${binding.description.replace(/^required: /, "")}>`;
  return required.map(
    (binding, index) =>
      `${index === 0 ? "  npx cdk deploy" : "   "} -c ${binding.key}=${value(binding)}${index < required.length - 1 ? " \\" : ""}`,
  );
}
