import { Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { EVENT_SOURCE } from "../../functions/core/outbox.ts";
import { EDIT_REQUESTED } from "../../functions/http/eventbridge.ts";
import { PUBLISHED_DETAIL_TYPES } from "../../infra/constructs/event-bus.ts";
import { propsFromContext } from "../../infra/context.ts";
import type { ImEditStack } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  contextOf,
  environmentOf,
  grantsOf,
  logicalId,
  PROPS,
  resolved,
  type Statement,
  TENCENT_REQUIRED,
} from "./helpers.ts";

const publishers = (stack: ImEditStack) => [stack.recorder, stack.editor, stack.worker];

/** Nothing but cdk-nag findings nobody acknowledged, as readable lines. */
const nagFindings = (stack: ImEditStack) =>
  new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(stack)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`);

describe("events: an optional queue for domain events (-c events=off|sqs)", () => {
  it("off by default: no events queue or bus, no EVENTS_QUEUE_URL or EVENT_BUS_NAME, nothing more to send to", () => {
    // Act
    const { stack, template } = buildStack(PROPS);

    // Assess: the two work queues and their dead letters only.
    expect(stack.eventsQueue).toBeUndefined();
    expect(stack.eventBus).toBeUndefined();
    template.resourceCountIs("AWS::SQS::Queue", 4);
    // No event rule (the job sweep's schedule is the only rule, test/infra/job-sweep.test.ts).
    template.resourcePropertiesCountIs("AWS::Events::Rule", { EventPattern: Match.anyValue() }, 0);
    template.resourceCountIs("AWS::Events::Rule", 1);
    for (const fn of publishers(stack)) {
      expect(environmentOf(template, stack, fn)).not.toHaveProperty("EVENTS_QUEUE_URL");
      expect(environmentOf(template, stack, fn)).not.toHaveProperty("EVENT_BUS_NAME");
      expect(grantsOf(template, logicalId(fn.role)).filter((grant) => grant.startsWith("events:"))).toEqual(
        [],
      );
    }
    expect(template.findOutputs("EventsQueueUrl")).toEqual({});
    expect(template.findOutputs("EventBusName")).toEqual({});
  });

  it("sqs: an encrypted TLS-only queue; recorder, editor and worker may SendMessage to it and know its URL", () => {
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
    for (const fn of publishers(stack)) {
      expect(environmentOf(template, stack, fn).EVENTS_QUEUE_URL).toEqual(url);
      const onQueue = grantsOf(template, logicalId(fn.role)).filter((pair) =>
        pair.endsWith(JSON.stringify(arn)),
      );
      expect(onQueue).toEqual([`sqs:SendMessage ${JSON.stringify(arn)}`]);
    }
    expect(Object.keys(template.findOutputs("EventsQueueUrl"))).toEqual(["EventsQueueUrl"]);
  });

  it("sqs: cdk-nag has no unacknowledged finding; the queue's missing DLQ is acknowledged with its reason", () => {
    // Prepare
    const { stack } = buildStack({ ...PROPS, events: "sqs" });

    // Act and assess
    expect(nagFindings(stack)).toEqual([]);
  });

  it("refuses any other value, naming it", () => {
    expect(() => buildStack({ ...PROPS, events: "kinesis" as never })).toThrow(
      /events: "kinesis" is not one of off, sqs, eventbridge/,
    );
  });

  it("comes from -c events=sqs", () => {
    const result = propsFromContext(contextOf({ ...TENCENT_REQUIRED, events: "sqs" }));
    expect(result.ok && result.props.events).toBe("sqs");
  });
});

describe("events: EventBridge (-c events=eventbridge [-c eventBus=<name>])", () => {
  // One synthesis per bus choice, shared by the tests that read it.
  const own = buildStack({ ...PROPS, events: "eventbridge" });
  const shared = buildStack({ ...PROPS, events: "eventbridge", eventBusName: "default" });

  /** Every statement of a role's policies that mentions events:* actions. */
  const eventStatements = (built: typeof own, roleLogicalId: string): Statement[] =>
    Object.values(built.template.findResources("AWS::IAM::Policy"))
      .filter(
        (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleLogicalId }]),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith("events:")));

  it.each([
    ["a bus of the stack's own", own],
    ["the account's default bus (-c eventBus=default)", shared],
  ])(
    "%s: recorder, editor and worker know the bus and may PutEvents on it alone, im-edit's source and event types only",
    (_, built) => {
      // Prepare
      const { stack, template } = built;
      const bus = stack.eventBus?.bus;
      expect(bus).toBeDefined();
      if (!bus) return;

      for (const fn of publishers(stack)) {
        // Act
        const statements = eventStatements(built, logicalId(fn.role));

        // Assess: one grant, on the bus, conditioned; never EditRequested (no edit can request another).
        expect(environmentOf(template, stack, fn).EVENT_BUS_NAME).toEqual(resolved(stack, bus.eventBusName));
        expect(environmentOf(template, stack, fn)).not.toHaveProperty("EVENTS_QUEUE_URL");
        expect(statements).toEqual([
          {
            Effect: "Allow",
            Action: "events:PutEvents",
            Resource: resolved(stack, bus.eventBusArn),
            Condition: {
              StringEquals: {
                "events:source": EVENT_SOURCE,
                "events:detail-type": [...PUBLISHED_DETAIL_TYPES],
              },
            },
          },
        ]);
        expect(PUBLISHED_DETAIL_TYPES).not.toContain(EDIT_REQUESTED);
      }
    },
  );

  it("own bus by default; -c eventBus=default creates none and points at the account's default bus", () => {
    own.template.resourceCountIs("AWS::Events::EventBus", 1);
    expect(own.stack.eventBus?.created).toBe(true);
    shared.template.resourceCountIs("AWS::Events::EventBus", 0);
    expect(shared.stack.eventBus?.created).toBe(false);
    expect(resolved(shared.stack, shared.stack.eventBus?.bus.eventBusArn)).toEqual({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":events:",
          { Ref: "AWS::Region" },
          ":",
          { Ref: "AWS::AccountId" },
          ":event-bus/default",
        ],
      ],
    });
    own.template.hasOutput("EventBusName", {
      Value: resolved(own.stack, own.stack.eventBus?.bus.eventBusName),
    });
  });

  it.each([
    ["own bus", own],
    ["default bus", shared],
  ])(
    "%s: EditRequested from im-edit goes to the edit queue whole (the worker allows an event edit or restore only)",
    (_, built) => {
      // Prepare
      const { stack, template } = built;
      const events = stack.eventBus;
      expect(events).toBeDefined();
      if (!events) return;

      // Assess: the worker then takes it like any queued edit (retries, partial batch failures, DLQ).
      template.hasResourceProperties("AWS::Events::Rule", {
        EventBusName: resolved(stack, events.bus.eventBusName),
        EventPattern: { source: [EVENT_SOURCE], "detail-type": [EDIT_REQUESTED] },
        State: "ENABLED",
        Targets: [
          {
            Id: Match.anyValue(),
            Arn: resolved(stack, stack.editQueue.queue.queueArn),
            // The envelope, not its detail: a bare detail would be a queued payload, which may purge.
            Input: Match.absent(),
            InputPath: Match.absent(),
            InputTransformer: Match.absent(),
            DeadLetterConfig: { Arn: resolved(stack, events.undelivered.queueArn) },
          },
        ],
      });
      template.resourceCountIs("AWS::Lambda::EventInvokeConfig", 0);
    },
  );

  it("the edit queue's policy lets EventBridge send only on behalf of the EditRequested rule", () => {
    // Prepare
    const { stack, template } = own;
    const rule = resolved(stack, stack.eventBus?.editRequested.ruleArn);

    // Act
    const statements = Object.values(template.findResources("AWS::SQS::QueuePolicy"))
      .filter(
        (policy) =>
          JSON.stringify(policy.Properties.Queues) ===
          JSON.stringify([resolved(stack, stack.editQueue.queue.queueUrl)]),
      )
      .flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as (Statement & { Principal: unknown })[],
      )
      .filter((statement) => statement.Effect === "Allow");

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Principal: { Service: "events.amazonaws.com" },
        Action: expect.arrayContaining(["sqs:SendMessage"]),
        Resource: resolved(stack, stack.editQueue.queue.queueArn),
        Condition: { ArnEquals: { "aws:SourceArn": rule } },
      }),
    ]);
  });

  it("what EventBridge cannot deliver waits in an encrypted dead-letter queue of its own, alarmed", () => {
    // Prepare
    const { stack, template } = own;
    const undelivered = stack.eventBus?.undelivered;
    expect(undelivered).toBeDefined();
    if (!undelivered) return;

    // Assess
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedrivePolicy: Match.absent(),
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: resolved(stack, undelivered.queueName) }],
      Threshold: 1,
      AlarmActions: [resolved(stack, stack.alarms.topic.topicArn)],
    });
  });

  it("cdk-nag: no unacknowledged finding with either bus", () => {
    expect(nagFindings(own.stack)).toEqual([]);
    expect(nagFindings(shared.stack)).toEqual([]);
  });

  it("a bus name only with events=eventbridge, and a valid one", () => {
    expect(() => buildStack({ ...PROPS, events: "sqs", eventBusName: "default" })).toThrow(
      /eventBusName: applies to events "eventbridge" only, not "sqs"/,
    );
    expect(() => buildStack({ ...PROPS, events: "eventbridge", eventBusName: "aws.partner/x" })).toThrow(
      /eventBus: "aws.partner\/x" is not an event bus name/,
    );
  });

  it("comes from -c events=eventbridge -c eventBus=<name>", () => {
    const result = propsFromContext(
      contextOf({ ...TENCENT_REQUIRED, events: "eventbridge", eventBus: "shared-bus" }),
    );
    expect(result.ok && [result.props.events, result.props.eventBusName]).toEqual([
      "eventbridge",
      "shared-bus",
    ]);
  });
});
