import { Validations } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import type { ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CONSOLE_PROPS,
  FULL_PROPS,
  FULL_RELAY_PROPS,
  fixture,
  HTTP_API_PROPS,
  PROPS,
} from "./helpers.ts";

/** Rules bundled, events on the stack's own bus (EditRequested in), the job runner capped differently. */
const EVENTBRIDGE_PROPS: ImEditStackProps = {
  ...PROPS,
  events: "eventbridge",
  rulesFile: fixture("rules.json"),
  workerReservedConcurrency: 20,
  editQueueMaxConcurrency: 15,
};
/** Every option at once, events on the account's default bus, the console in a region-specific stack. */
const EVERYTHING_PROPS: ImEditStackProps = {
  ...FULL_PROPS,
  ...CONSOLE_PROPS,
  env: FULL_PROPS.env ?? {},
  events: "eventbridge",
  eventBusName: "default",
  rulesFile: fixture("rules.yaml"),
};

/** The callback relay for both providers with their forward secrets, traced (the forwarder's X-Ray grant). */
const RELAY_PROPS: ImEditStackProps = { ...FULL_RELAY_PROPS, tracing: "active" };

/** In every stack: the API's OpenAPI document is open on the HTTP API on purpose (ServiceApi). */
const OPENAPI_OPEN = "Test/Http/GET --openapi.json AwsSolutions-APIG4";

/** One synthesis per props, shared by both checks below. */
const built = new Map<ImEditStackProps, ReturnType<typeof buildStack>>();
const stackFor = (props: ImEditStackProps) => {
  const found = built.get(props) ?? buildStack(props);
  built.set(props, found);
  return found.stack;
};

/** Every acknowledgment in the tree: where, which rule, and why. */
function acknowledgments(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ""),
          reason,
        })),
      ),
  );
}

describe("cdk-nag AwsSolutions", () => {
  it.each([
    ["minimal (callbacks on the recorder's function URL)", PROPS],
    ["every option (provisioned billing)", FULL_PROPS],
    ["callbacks on the HTTP API", HTTP_API_PROPS],
    ["rules, events on EventBridge (own bus), worker concurrency", EVENTBRIDGE_PROPS],
    ["every option, events on the default bus", EVERYTHING_PROPS],
    ["the callback relay (forward queue, forwarder), traced", RELAY_PROPS],
    ["the operator console (bucket, distribution, Cognito, CDK's deployment function)", CONSOLE_PROPS],
  ])("%s: no unacknowledged finding, error or warning", (_, props) => {
    // Prepare
    const stack = stackFor(props);

    // Act: cdk-nag 3 reports through CDK's validation plugins, not annotations; validateScope is its direct form.
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) =>
          `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(", ")}: ${v.description}`,
      ),
    ).toEqual([]);
    // And CDK itself has nothing to say (v2-style check, still meaningful for CDK's own annotations).
    expect(Annotations.fromStack(stack).findError("*", Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning("*", Match.anyValue())).toEqual([]);
  });

  it.each([
    ["minimal (no tracing: no X-Ray grant to acknowledge)", PROPS, []],
    [
      "every option (tracing active)",
      FULL_PROPS,
      [
        "Test/Editor/Role AwsSolutions-IAM5[Resource::*]",
        "Test/Recorder/Role AwsSolutions-IAM5[Resource::*]",
        "Test/Worker/Role AwsSolutions-IAM5[Resource::*]",
      ],
    ],
    [
      "events on EventBridge (a rule target's dead-letter queue has none of its own)",
      EVENTBRIDGE_PROPS,
      ["Test/Events/Undelivered AwsSolutions-SQS3"],
    ],
    [
      "the callback relay, traced (the forward queue and its DLQ need nothing acknowledged)",
      RELAY_PROPS,
      [
        "Test/Editor/Role AwsSolutions-IAM5[Resource::*]",
        "Test/Recorder/Role AwsSolutions-IAM5[Resource::*]",
        "Test/Relay/Forwarder/Role AwsSolutions-IAM5[Resource::*]",
        "Test/Worker/Role AwsSolutions-IAM5[Resource::*]",
      ],
    ],
    [
      "the operator console (CDK's deployment function: its own grants and runtime)",
      CONSOLE_PROPS,
      [
        "Test/Console/Assets AwsSolutions-S1",
        "Test/Console/Distribution AwsSolutions-CFR1",
        "Test/Console/Distribution AwsSolutions-CFR2",
        "Test/Console/Distribution AwsSolutions-CFR3",
        "Test/Console/Distribution AwsSolutions-CFR4",
        "Test/Console/OperatorRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<HttpApi4E1D4184>/$default/*/v1/*]",
        "Test/Console/Operators AwsSolutions-COG3",
        "Test/Console/Operators AwsSolutions-COG8",
        ...[
          "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
          "IAM5[Action::s3:Abort*]",
          "IAM5[Action::s3:DeleteObject*]",
          "IAM5[Action::s3:GetBucket*]",
          "IAM5[Action::s3:GetObject*]",
          "IAM5[Action::s3:List*]",
          "IAM5[Resource::*]",
          "IAM5[Resource::<ConsoleAssets8400950A.Arn>/*]",
          "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
          "L1",
        ].map((id) => `Test/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C AwsSolutions-${id}`),
      ],
    ],
    [
      "callbacks on the HTTP API",
      HTTP_API_PROPS,
      ["Test/Http/POST --callbacks--{provider} AwsSolutions-APIG4"],
    ],
  ])(
    "%s: acknowledges only what AWS requires or the design decides, each with a written reason",
    (_, props, more) => {
      // Prepare
      const stack = stackFor(props);

      // Act
      const found = acknowledgments(stack);

      // Assess: a new acknowledgment must be added here on purpose.
      expect(found.map(({ path, id }) => `${path} ${id}`).sort()).toEqual([OPENAPI_OPEN, ...more].sort());
      for (const { reason } of found) expect(reason.length).toBeGreaterThan(60);
    },
  );
});
