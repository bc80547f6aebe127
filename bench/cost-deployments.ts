import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { ServiceFunction } from "../infra/constructs/service-function.ts";
import { propsFromContext } from "../infra/context.ts";
import { ImEditStack } from "../infra/stacks/im-edit-stack.ts";

/**
 * The deployments `npm run bench -- cost` prices: the default and each documented option, synthesized
 * in-process, and what it reads from their templates.
 */

/** The app's own callback handler the relay option forwards to (`-c tencentForwardUrl`; nothing is sent). */
const EXAMPLE_FORWARD_URL = "https://app.example.com/im/callback";

/** The values `npm run synth` passes (clearly fake; nothing is deployed). */
const EXAMPLE_CONTEXT: Record<string, string> = {
  sdkAppId: "1400000000",
  callbackTokenSecretArn:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/example/tencent-callback-token-EXAMPL",
  secretKeySecretArn:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/example/tencent-secret-key-EXAMPL",
  // The operator console costs nothing per message (README, Operator console in AWS), and its build is
  // not this synth's business.
  console: "off",
};

/** The default deployment first, then each documented option alone. */
export const OPTIONS: ReadonlyArray<{ readonly context: Record<string, string>; readonly what: string }> = [
  { context: {}, what: "default" },
  { context: { callbackIngress: "httpApi" }, what: "callbacks through the HTTP API" },
  { context: { tracing: "active" }, what: "X-Ray active tracing" },
  { context: { events: "sqs" }, what: "domain events to SQS: one SendMessage per message" },
  {
    context: { events: "eventbridge" },
    what: "domain events to EventBridge: one PutEvents entry per message",
  },
  { context: { billing: "provisioned" }, what: "provisioned capacity with auto scaling" },
  {
    context: { tencentForwardUrl: EXAMPLE_FORWARD_URL },
    what: "callback relay: each callback's forward through the forward queue to the app's own handler",
  },
  {
    context: { listings: "conversation" },
    what:
      "the conversation listing only: no byApp index (whole-app and sender-only lists, partial natural keys " +
      "and bulk jobs without a conversation are refused), measured with the recorder's LISTINGS",
  },
  {
    context: { listings: "none" },
    what:
      "no listing: no index (ids and whole natural keys only; lists, partial keys and bulk jobs are refused), " +
      "measured with the recorder's LISTINGS",
  },
];

export interface Deployment {
  readonly context: Record<string, string>;
  readonly what: string;
  readonly memoryMb: number;
  readonly architecture: string;
  readonly ingress: "functionUrl" | "httpApi";
  readonly tracing: string;
  readonly logFormat: string;
  readonly applicationLogLevel?: string;
  readonly systemLogLevel?: string;
  readonly billing: string;
  readonly writeTargetPercent?: number;
  readonly readTargetPercent?: number;
  readonly indexes: readonly string[];
  readonly pitr: boolean;
  /** Where the recorder publishes domain events, if anywhere. */
  readonly events?: "sqs" | "eventbridge";
  /** The callback relay, with a forward URL: the forwarder the recorder's forwards go to through SQS. */
  readonly relay?: {
    readonly memoryMb: number;
    readonly architecture: string;
    /** Its event source's batch size: at most this many forwards per invocation. */
    readonly batchSize: number;
  };
  /** The recorder's environment variables that are plain strings in the template (not references). */
  readonly recorderEnvironment: Record<string, string>;
}

/** Synthesizes every option in-process (bundling skipped, no network) and reads its template. */
export function synthesize(): Deployment[] {
  return OPTIONS.map(({ context, what }) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const parsed = propsFromContext((key) => ({ ...EXAMPLE_CONTEXT, ...context })[key]);
    if (!parsed.ok) throw new Error(parsed.message);
    const stack = new ImEditStack(app, parsed.stackName, parsed.props);
    return { context, what, ...readTemplate(stack, Template.fromStack(stack)) };
  });
}

type Resource = { Properties?: Record<string, unknown> };
const get = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>(
    (at, key) => (at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined),
    value,
  );

function readTemplate(stack: ImEditStack, template: Template): Omit<Deployment, "context" | "what"> {
  const functionOf = (fn: ServiceFunction) => {
    const id = Stack.of(stack).getLogicalId(fn.function.node.defaultChild as CfnFunction);
    return {
      id,
      properties: (template.findResources("AWS::Lambda::Function")[id] as Resource).Properties ?? {},
    };
  };
  const { id: recorderId, properties: recorder } = functionOf(stack.recorder);
  const urls = Object.values(template.findResources("AWS::Lambda::Url") as Record<string, Resource>).filter(
    (url) => JSON.stringify(url.Properties?.TargetFunctionArn).includes(recorderId),
  );
  const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route") as Record<string, Resource>)
    .map((route) => String(route.Properties?.RouteKey))
    .filter((key) => key.startsWith("POST /callbacks/"));
  if (urls.length > 0 === routes.length > 0) throw new Error("cannot tell the callback ingress");
  const tables = Object.values(
    template.findResources("AWS::DynamoDB::GlobalTable") as Record<string, Resource>,
  );
  const table = tables[0]?.Properties ?? {};
  const indexes = ((table.GlobalSecondaryIndexes ?? []) as unknown[]).map((index) => {
    const attributes = (get(index, "Projection", "NonKeyAttributes") as string[] | undefined) ?? [];
    return `${get(index, "IndexName")} (${get(index, "Projection", "ProjectionType")}${attributes.length > 0 ? ` ${attributes.join(", ")}` : ""})`;
  });
  const variables = (get(recorder, "Environment", "Variables") ?? {}) as Record<string, unknown>;
  const target = (path: string) => {
    const value = get(table, ...path.split("."), "TargetTrackingScalingPolicyConfiguration", "TargetValue");
    return typeof value === "number" ? value : undefined;
  };
  const writeTarget = target("WriteProvisionedThroughputSettings.WriteCapacityAutoScalingSettings");
  const readTarget = target("Replicas.0.ReadProvisionedThroughputSettings.ReadCapacityAutoScalingSettings");
  const logging = (recorder.LoggingConfig ?? {}) as Record<string, string | undefined>;
  return {
    memoryMb: Number(recorder.MemorySize ?? 128),
    architecture: String(get(recorder, "Architectures", 0) ?? "x86_64"),
    ingress: urls.length > 0 ? "functionUrl" : "httpApi",
    tracing: String(get(recorder, "TracingConfig", "Mode") ?? "PassThrough"),
    logFormat: logging.LogFormat ?? "Text",
    ...(logging.ApplicationLogLevel ? { applicationLogLevel: logging.ApplicationLogLevel } : {}),
    ...(logging.SystemLogLevel ? { systemLogLevel: logging.SystemLogLevel } : {}),
    billing: String(table.BillingMode ?? "PROVISIONED"),
    ...(writeTarget !== undefined ? { writeTargetPercent: writeTarget } : {}),
    ...(readTarget !== undefined ? { readTargetPercent: readTarget } : {}),
    indexes,
    pitr:
      get(table, "Replicas", 0, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") === true,
    ...(stack.relay ? { relay: readForwarder(template, functionOf(stack.relay.forwarder)) } : {}),
    ...("EVENTS_QUEUE_URL" in variables
      ? { events: "sqs" as const }
      : "EVENT_BUS_NAME" in variables
        ? { events: "eventbridge" as const }
        : {}),
    recorderEnvironment: Object.fromEntries(
      Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    ),
  };
}

/** The forwarder's memory and architecture, and the batch size of the event source that invokes it. */
function readForwarder(
  template: Template,
  forwarder: { readonly id: string; readonly properties: Record<string, unknown> },
): NonNullable<Deployment["relay"]> {
  const mappings = Object.values(
    template.findResources("AWS::Lambda::EventSourceMapping") as Record<string, Resource>,
  ).filter((mapping) => JSON.stringify(mapping.Properties?.FunctionName).includes(forwarder.id));
  const batchSize = get(mappings[0]?.Properties, "BatchSize");
  if (mappings.length !== 1 || typeof batchSize !== "number")
    throw new Error("cannot tell the forwarder's batch");
  return {
    memoryMb: Number(forwarder.properties.MemorySize ?? 128),
    architecture: String(get(forwarder.properties, "Architectures", 0) ?? "x86_64"),
    batchSize,
  };
}
