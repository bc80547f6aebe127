import type { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { propsFromContext } from "../../infra/context.ts";
import type { ImEditStack } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CALLBACK_TOKEN_ARN,
  grantsOf,
  logicalId,
  PROPS,
  resolved,
  SECRET_KEY_ARN,
} from "./helpers.ts";

/** The environment of a stack's function (by its role). */
function environmentOf(template: Template, stack: ImEditStack, which: "recorder" | "editor") {
  const role = resolved(stack, stack[which].role.roleArn);
  const fn = Object.values(template.findResources("AWS::Lambda::Function")).find(
    (resource) => JSON.stringify(resource.Properties.Role) === JSON.stringify(role),
  );
  return (fn?.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
}

describe("events: an optional queue for domain events (-c events=off|sqs)", () => {
  it("off by default: no events queue, no EVENTS_QUEUE_URL, nothing more to send to", () => {
    // Act
    const { stack, template } = buildStack(PROPS);

    // Assess: the two work queues and their dead letters only.
    expect(stack.eventsQueue).toBeUndefined();
    template.resourceCountIs("AWS::SQS::Queue", 4);
    for (const which of ["recorder", "editor"] as const) {
      expect(environmentOf(template, stack, which)).not.toHaveProperty("EVENTS_QUEUE_URL");
    }
    expect(template.findOutputs("EventsQueueUrl")).toEqual({});
  });

  it("sqs: an encrypted TLS-only queue; recorder and editor may SendMessage to it and know its URL", () => {
    // Act
    const { stack, template } = buildStack({ ...PROPS, events: "sqs" });

    // Assess
    const queue = stack.eventsQueue?.queue;
    expect(queue).toBeDefined();
    if (!queue) return;
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 4 * 24 * 3600,
    });
    const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy")).filter((policy) =>
      JSON.stringify(policy.Properties.Queues).includes(logicalId(queue)),
    );
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
    const url = resolved(stack, queue.queueUrl);
    const arn = resolved(stack, queue.queueArn);
    for (const which of ["recorder", "editor"] as const) {
      expect(environmentOf(template, stack, which).EVENTS_QUEUE_URL).toEqual(url);
      const onQueue = grantsOf(template, logicalId(stack[which].role)).filter((pair) =>
        pair.endsWith(JSON.stringify(arn)),
      );
      expect(onQueue).toEqual([`sqs:SendMessage ${JSON.stringify(arn)}`]);
    }
    expect(Object.keys(template.findOutputs("EventsQueueUrl"))).toEqual(["EventsQueueUrl"]);
  });

  it("sqs: cdk-nag has no unacknowledged finding; the queue's missing DLQ is acknowledged with its reason", () => {
    // Prepare
    const { stack } = buildStack({ ...PROPS, events: "sqs" });

    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);

    // Assess
    expect(
      report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });

  it("refuses any other value, naming it", () => {
    expect(() => buildStack({ ...PROPS, events: "eventbridge" as never })).toThrow(
      /events: "eventbridge" is not one of off, sqs/,
    );
  });

  it("comes from -c events=sqs", () => {
    const result = propsFromContext(
      (key) =>
        (
          ({
            sdkAppId: "1400000000",
            callbackTokenSecretArn: CALLBACK_TOKEN_ARN,
            secretKeySecretArn: SECRET_KEY_ARN,
            events: "sqs",
          }) as Record<string, unknown>
        )[key],
    );
    expect(result.ok && result.props.events).toBe("sqs");
  });
});
