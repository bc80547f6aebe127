import { fileURLToPath } from "node:url";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import type { ServiceFunction } from "../../infra/constructs/service-function.ts";
import type { WorkQueue } from "../../infra/constructs/work-queue.ts";
import { ImEditStack, type ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";

/** A file under test/infra/fixtures, as an absolute path. */
export const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

export const secretArn = (name: string): string =>
  `arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/test/${name}-AbCdEf`;

export const CALLBACK_TOKEN_ARN = secretArn("tencent-callback-token");
export const SECRET_KEY_ARN = secretArn("tencent-secret-key");
export const NETEASE_SECRET_ARN = secretArn("netease-app-secret");
export const TABLE_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

/** Tencent's required settings: the `-c` keys every synth needs, named as its stack props are. */
export const TENCENT_REQUIRED = {
  sdkAppId: "1400000000",
  callbackTokenSecretArn: CALLBACK_TOKEN_ARN,
  secretKeySecretArn: SECRET_KEY_ARN,
};

export const PROPS: ImEditStackProps = { tencent: TENCENT_REQUIRED };

/** `-c` values as `propsFromContext` reads them. */
export const contextOf =
  (values: Readonly<Record<string, unknown>>) =>
  (key: string): unknown =>
    values[key];

/** Every optional branch switched on. */
export const FULL_PROPS: ImEditStackProps = {
  // A table key ties the stack to the key's region.
  env: { region: "us-east-1" },
  tencent: { ...PROPS.tencent, region: "sgp", adminIdentifier: "im_admin", recordAvChatRoom: true },
  netease: { appKey: "0123456789abcdef", region: "sg", appSecretSecretArn: NETEASE_SECRET_ARN },
  tableEncryptionKeyArn: TABLE_KEY_ARN,
  alarmEmail: "ops@example.com",
  retentionDays: 365,
  callbackIngress: "functionUrl",
  recorderReservedConcurrency: 80,
  billing: "provisioned",
  provisionedCapacity: { read: { min: 2, max: 40 }, write: { min: 3, max: 60 } },
  tracing: "active",
};

/** The app's own callback handlers the relay forwards to (`-c tencentForwardUrl`, `-c neteaseForwardUrl`). */
export const TENCENT_FORWARD_URL = "https://app.example.com/im/tencent-callback";
export const NETEASE_FORWARD_URL = "https://app.example.com/im/yunxin-copy";
export const FORWARD_TOKEN_ARN = secretArn("tencent-forward-token");
export const NETEASE_FORWARD_SECRET_ARN = secretArn("netease-forward-secret");

/** The callback relay for Tencent alone, every relay setting at its default (forwards signed with the callback token). */
export const RELAY_PROPS: ImEditStackProps = {
  ...PROPS,
  tencent: { ...PROPS.tencent, forwardUrl: TENCENT_FORWARD_URL },
};

/** NetEase with its forward URL and forward secret, as the full relay has it. */
export const NETEASE_RELAY = {
  appKey: "0123456789abcdef",
  region: "sg",
  appSecretSecretArn: NETEASE_SECRET_ARN,
  forwardUrl: NETEASE_FORWARD_URL,
  forwardSecretArn: NETEASE_FORWARD_SECRET_ARN,
};

/** The callback relay for both providers, each with its own forward secret, every relay setting given. */
export const FULL_RELAY_PROPS: ImEditStackProps = {
  ...PROPS,
  tencent: { ...PROPS.tencent, forwardUrl: TENCENT_FORWARD_URL, forwardTokenSecretArn: FORWARD_TOKEN_ARN },
  netease: NETEASE_RELAY,
  forwardTimeoutMs: 900,
  forwardFallback: "block:120001",
  forwardDeliveryTimeoutMs: 3000,
  forwardQueueMaxReceives: 4,
  forwarderReservedConcurrency: 3,
  forwardFallbackAlarmThreshold: 20,
};

/** Callbacks through the HTTP API instead of the recorder's function URL. */
export const HTTP_API_PROPS: ImEditStackProps = { ...PROPS, callbackIngress: "httpApi" };

/** The operator console, from a two-file stand-in for console/build.ts's output (no esbuild run). */
export const CONSOLE_PROPS: ImEditStackProps = { ...PROPS, console: { assetsPath: fixture("console") } };

/**
 * Builds the stack with bundling skipped (STYLE 10): tests of the template need no esbuild run. With the
 * console, assets are not staged either: the deployment's AWS CLI layer alone is a 22 MB copy per synth.
 */
export function buildStack(props: ImEditStackProps = PROPS): { stack: ImEditStack; template: Template } {
  const app = new App({
    context: {
      "aws:cdk:bundling-stacks": [],
      ...(props.console ? { "aws:cdk:disable-asset-staging": true } : {}),
    },
  });
  const stack = new ImEditStack(app, "Test", props);
  return { stack, template: Template.fromStack(stack) };
}

/** The template value a construct attribute resolves to (a Ref, GetAtt or Join). */
export const resolved = (stack: Stack, value: unknown): unknown => stack.resolve(value);

export const logicalId = (construct: IConstruct): string =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource);

/**
 * Every (action, resource) pair a role's policies allow, as `action resource-json` strings: statements can
 * be split or merged in many ways that grant the same, so compare what is granted, not how it is written.
 */
export function grantsOf(template: Template, roleLogicalId: string): string[] {
  const pairs: string[] = [];
  for (const policy of Object.values(template.findResources("AWS::IAM::Policy"))) {
    const roles = (policy.Properties.Roles ?? []) as unknown[];
    if (!roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }))) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
      if (statement.Effect !== "Allow") continue;
      for (const action of [statement.Action].flat()) {
        for (const resource of [statement.Resource].flat())
          pairs.push(`${action} ${JSON.stringify(resource)}`);
      }
    }
  }
  return pairs.sort();
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** What a queue's consumer may do with it (`grantConsumeMessages`). */
export const CONSUME_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueUrl",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
];

/** The pairs for `actions` on each of `resources`, as `grantsOf` writes them. */
export const pairs = (actions: readonly string[], resources: readonly unknown[]): string[] =>
  actions.flatMap((action) => resources.map((resource) => `${action} ${JSON.stringify(resource)}`));

/** A function's environment variables in the template. */
export function environmentOf(
  template: Template,
  stack: Stack,
  fn: ServiceFunction,
): Record<string, unknown> {
  const role = resolved(stack, fn.role.roleArn);
  const found = Object.values(template.findResources("AWS::Lambda::Function")).find(
    (resource) => JSON.stringify(resource.Properties.Role) === JSON.stringify(role),
  );
  return (found?.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
}

/** The template value of a work queue's redrive output: its dead letters moved back to the queue itself. */
export const redriveCommandOf = (stack: Stack, queue: WorkQueue): unknown => ({
  "Fn::Join": [
    "",
    [
      "aws sqs start-message-move-task --source-arn ",
      resolved(stack, queue.deadLetterQueue.queueArn),
      " --destination-arn ",
      resolved(stack, queue.queue.queueArn),
    ],
  ],
});

/**
 * The template has `queues` SQS queues, each encrypted and with a policy denying anything but TLS, and
 * `deadLetterQueues` of them keep their letters 14 days.
 */
export function expectQueuesLockedDown(
  template: Template,
  { queues, deadLetterQueues }: { readonly queues: number; readonly deadLetterQueues: number },
): void {
  template.resourceCountIs("AWS::SQS::Queue", queues);
  template.allResourcesProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true });
  template.resourcePropertiesCountIs(
    "AWS::SQS::Queue",
    { MessageRetentionPeriod: 14 * 24 * 3600 },
    deadLetterQueues,
  );
  template.resourcePropertiesCountIs(
    "AWS::SQS::QueuePolicy",
    {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    },
    queues,
  );
}
