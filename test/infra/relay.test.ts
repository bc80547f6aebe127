import { App } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { PropsError } from "../../infra/constructs/props.ts";
import type { ServiceFunction } from "../../infra/constructs/service-function.ts";
import { propsFromContext } from "../../infra/context.ts";
import { ImEditStack, type ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CALLBACK_TOKEN_ARN,
  CONSUME_ACTIONS,
  contextOf,
  environmentOf,
  expectQueuesLockedDown,
  FORWARD_TOKEN_ARN,
  FULL_RELAY_PROPS,
  grantsOf,
  logicalId,
  NETEASE_FORWARD_SECRET_ARN,
  NETEASE_FORWARD_URL,
  NETEASE_RELAY,
  NETEASE_SECRET_ARN,
  PROPS,
  pairs,
  RELAY_PROPS,
  redriveCommandOf,
  resolved,
  SECRET_KEY_ARN,
  TENCENT_FORWARD_URL,
  TENCENT_REQUIRED,
} from "./helpers.ts";

// One synthesis per configuration (about a second each), shared by the tests that read it.
const base = buildStack();
const relay = buildStack(RELAY_PROPS);
const full = buildStack(FULL_RELAY_PROPS);

type Built = ReturnType<typeof buildStack>;

/** The relay of a stack built with a forward URL. */
function relayOf({ stack }: Built) {
  if (!stack.relay) throw new Error("the stack has no relay");
  return stack.relay;
}

function problemsOf(props: ImEditStackProps): readonly string[] {
  try {
    new ImEditStack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test", props);
    return [];
  } catch (error: unknown) {
    if (error instanceof PropsError) return error.problems;
    throw error;
  }
}

describe("without a forward URL (the default)", () => {
  it("nothing of the relay: no forwarder, no forward queue, no relay variable, alarm or output", () => {
    // Prepare
    const { stack, template } = base;
    const variables = Object.values(template.findResources("AWS::Lambda::Function")).flatMap((fn) =>
      Object.keys(fn.Properties.Environment.Variables),
    );

    // Assess
    expect(stack.relay).toBeUndefined();
    template.resourceCountIs("AWS::Lambda::Function", 3);
    template.resourceCountIs("AWS::SQS::Queue", 4);
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 11);
    expect(variables.filter((name) => /FORWARD/.test(name))).toEqual([]);
    expect(Object.keys(template.findOutputs("*")).filter((name) => name.startsWith("Forward"))).toEqual([]);
  });
});

describe("with a forward URL: the forward queue and the forwarder", () => {
  it("the forwarder: the forward queue's consumer, functions/forwarder.ts on the house defaults, capped", () => {
    // Prepare
    const { stack, template } = relay;
    const { forwarder } = relayOf(relay);

    // Assess: a batch of 10 deliveries of up to 5 s each, one after the other, and 10 s of margin.
    expect(forwarder.entry).toBe("functions/forwarder.ts");
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, forwarder.role.roleArn),
      Handler: "index.handler",
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      MemorySize: 256,
      Timeout: 60,
      ReservedConcurrentExecutions: 5,
      TracingConfig: Match.absent(),
      LoggingConfig: Match.objectLike({ LogFormat: "JSON", SystemLogLevel: "WARN" }),
    });
    template.resourceCountIs("AWS::Lambda::Function", 4);
  });

  it("forwarder environment: the recorder's provider settings, the forward queue, its DLQ and attempts", () => {
    // Prepare
    const { stack, template } = relay;
    const { forwarder, queue } = relayOf(relay);

    // Act
    const variables = environmentOf(template, stack, forwarder);

    // Assess: the callback token signs the forwards (no forward token given); TABLE_NAME only for the config.
    expect(variables).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_SERVICE_NAME: "im-edit",
      POWERTOOLS_METRICS_NAMESPACE: "ImEdit",
      TENCENT_SDKAPPID: "1400000000",
      TENCENT_ADMIN_IDENTIFIER: "administrator",
      TENCENT_CALLBACK_FORWARD_URL: TENCENT_FORWARD_URL,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: CALLBACK_TOKEN_ARN,
      TABLE_NAME: resolved(stack, stack.table.table.tableName),
      FORWARD_QUEUE_URL: resolved(stack, queue.queue.queueUrl),
      FORWARD_DLQ_URL: resolved(stack, queue.deadLetterQueue.queueUrl),
      FORWARD_QUEUE_MAX_RECEIVES: "8",
      FORWARD_TIMEOUT_MS: "5000",
    });
  });

  it("forwarder IAM: consumes the forward queue, dead-letters, reads the callback token; no table, no send", () => {
    // Prepare
    const { stack, template } = relay;
    const { forwarder, queue } = relayOf(relay);

    // Act
    const grants = grantsOf(template, logicalId(forwarder.role));

    // Assess
    expect(grants).toEqual(
      [
        ...pairs(
          ["logs:CreateLogStream", "logs:PutLogEvents"],
          [resolved(stack, forwarder.logGroup.logGroupArn)],
        ),
        ...pairs(["secretsmanager:GetSecretValue"], [CALLBACK_TOKEN_ARN]),
        ...pairs(CONSUME_ACTIONS, [resolved(stack, queue.queue.queueArn)]),
        ...pairs(["sqs:SendMessage"], [resolved(stack, queue.deadLetterQueue.queueArn)]),
      ].sort(),
    );
  });

  it("recorder: sqs:SendMessage on the forward queue alone, FORWARD_QUEUE_URL and the forward URL", () => {
    // Prepare
    const { stack, template } = relay;
    const { queue } = relayOf(relay);
    const withoutRelay = (built: Built, fn: (stack: ImEditStack) => ServiceFunction) =>
      grantsOf(built.template, logicalId(fn(built.stack).role)).filter(
        (grant) => !grant.includes("Relay") && !grant.startsWith("logs:"),
      );

    // Act
    const grants = grantsOf(template, logicalId(stack.recorder.role));
    const variables = environmentOf(template, stack, stack.recorder);

    // Assess: what the recorder had before, plus sending forwards; the budget and policy at their defaults.
    expect(
      grants.filter((grant) => grant.includes(JSON.stringify(resolved(stack, queue.queue.queueArn)))),
    ).toEqual(pairs(["sqs:SendMessage"], [resolved(stack, queue.queue.queueArn)]));
    expect(
      grants.some((grant) => grant.includes(JSON.stringify(resolved(stack, queue.deadLetterQueue.queueArn)))),
    ).toBe(false);
    expect(withoutRelay(relay, (s) => s.recorder)).toEqual(withoutRelay(base, (s) => s.recorder));
    expect(variables).toEqual({
      ...environmentOf(base.template, base.stack, base.stack.recorder),
      TENCENT_CALLBACK_FORWARD_URL: TENCENT_FORWARD_URL,
      FORWARD_QUEUE_URL: resolved(stack, queue.queue.queueUrl),
    });
  });

  it("editor and worker: nothing of the relay", () => {
    for (const fn of [relay.stack.editor, relay.stack.worker]) {
      expect(environmentOf(relay.template, relay.stack, fn)).toEqual(
        environmentOf(
          base.template,
          base.stack,
          fn === relay.stack.editor ? base.stack.editor : base.stack.worker,
        ),
      );
      expect(grantsOf(relay.template, logicalId(fn.role)).filter((grant) => grant.includes("Relay"))).toEqual(
        [],
      );
    }
  });

  it("event source: batches of 10 with partial batch failures, guarded at the reserved concurrency", () => {
    // Prepare
    const { stack, template } = relay;
    const { forwarder, queue } = relayOf(relay);

    // Assess
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: resolved(stack, queue.queue.queueArn),
      FunctionName: resolved(stack, forwarder.function.functionName),
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 3);
  });

  it("forward queue: encrypted, TLS only, 8 receives then its DLQ (14 days), visibility above the forwarder's timeout", () => {
    // Prepare
    const { stack, template } = relay;
    const { queue } = relayOf(relay);

    // Assess
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: {
        deadLetterTargetArn: resolved(stack, queue.deadLetterQueue.queueArn),
        maxReceiveCount: 8,
      },
      VisibilityTimeout: 90,
      SqsManagedSseEnabled: true,
    });
    expect(queue.visibilityTimeout.toSeconds()).toBeGreaterThan(60);
    expectQueuesLockedDown(template, { queues: 6, deadLetterQueues: 3 });
  });

  it("outputs: the forward queue, its DLQ and the redrive command back to the forward queue", () => {
    // Prepare
    const { stack, template } = relay;
    const { queue } = relayOf(relay);

    // Assess
    template.hasOutput("ForwardQueueUrl", { Value: resolved(stack, queue.queue.queueUrl) });
    template.hasOutput("ForwardDlqUrl", { Value: resolved(stack, queue.deadLetterQueue.queueUrl) });
    template.hasOutput("ForwardQueueRedrive", { Value: redriveCommandOf(stack, queue) });
  });
});

describe("relay alarms", () => {
  const { stack, template } = relay;
  const topic = resolved(stack, stack.alarms.topic.topicArn);
  const alarm = (properties: Record<string, unknown>) =>
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...properties,
      TreatMissingData: "notBreaching",
      AlarmActions: [topic],
    });

  it("forward DLQ: any dead-lettered forward", () => {
    alarm({
      MetricName: "ApproximateNumberOfMessagesVisible",
      Namespace: "AWS/SQS",
      Dimensions: [
        { Name: "QueueName", Value: resolved(stack, relayOf(relay).queue.deadLetterQueue.queueName) },
      ],
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmDescription: Match.stringLikeRegexp("ForwardQueueRedrive"),
    });
  });

  it("ForwardLost: at the first forward that could not be enqueued", () => {
    alarm({
      MetricName: "ForwardLost",
      Namespace: "ImEdit",
      Dimensions: [{ Name: "service", Value: "im-edit" }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("ForwardFallback: more than 10 before-sends on the fallback policy in 5 minutes (the threshold is a prop)", () => {
    alarm({
      MetricName: "ForwardFallback",
      Namespace: "ImEdit",
      Dimensions: [{ Name: "service", Value: "im-edit" }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 10,
      ComparisonOperator: "GreaterThanThreshold",
    });
    full.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ForwardFallback",
      Threshold: 20,
    });
  });

  it("forwarder errors and throttles; 5 alarms in all beside the 11 of the default stack", () => {
    for (const metricName of ["Errors", "Throttles"]) {
      alarm({
        MetricName: metricName,
        Namespace: "AWS/Lambda",
        Dimensions: [
          { Name: "FunctionName", Value: resolved(stack, relayOf(relay).forwarder.function.functionName) },
        ],
        Threshold: 1,
      });
    }
    template.resourceCountIs("AWS::CloudWatch::Alarm", 16);
  });
});

describe("both providers, forward secrets of their own, every relay setting", () => {
  const { stack, template } = full;
  const { forwarder, queue } = relayOf(full);

  it("the forward secrets reach the recorder and the forwarder only, bound by ARN with read access", () => {
    // Prepare
    const secretsOf = (fn: ServiceFunction) =>
      grantsOf(template, logicalId(fn.role))
        .filter((grant) => grant.startsWith("secretsmanager:"))
        .sort();
    const callbackSide = pairs(
      ["secretsmanager:GetSecretValue"],
      [CALLBACK_TOKEN_ARN, NETEASE_SECRET_ARN, FORWARD_TOKEN_ARN, NETEASE_FORWARD_SECRET_ARN],
    ).sort();

    // Assess
    expect(secretsOf(stack.recorder)).toEqual(callbackSide);
    expect(secretsOf(forwarder)).toEqual(callbackSide);
    for (const fn of [stack.editor, stack.worker]) {
      expect(secretsOf(fn)).toEqual(
        pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN, NETEASE_SECRET_ARN]).sort(),
      );
    }
    for (const fn of [stack.recorder, forwarder]) {
      expect(environmentOf(template, stack, fn)).toMatchObject({
        TENCENT_CALLBACK_FORWARD_URL: TENCENT_FORWARD_URL,
        NETEASE_CALLBACK_FORWARD_URL: NETEASE_FORWARD_URL,
        TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: FORWARD_TOKEN_ARN,
        NETEASE_FORWARD_APP_SECRET_SECRET_ARN: NETEASE_FORWARD_SECRET_ARN,
      });
    }
  });

  it("the recorder's before-send budget and fallback policy; the forwarder's attempt, receives and cap", () => {
    expect(environmentOf(template, stack, stack.recorder)).toMatchObject({
      CALLBACK_FORWARD_TIMEOUT_MS: "900",
      CALLBACK_FORWARD_FALLBACK: "block:120001",
    });
    expect(environmentOf(template, stack, forwarder)).toMatchObject({
      FORWARD_TIMEOUT_MS: "3000",
      FORWARD_QUEUE_MAX_RECEIVES: "4",
    });
    expect(environmentOf(template, stack, forwarder)).not.toHaveProperty("CALLBACK_FORWARD_FALLBACK");
    // 10 attempts of 3 s and the margin; the visibility 30 s above it.
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, forwarder.role.roleArn),
      Timeout: 40,
      ReservedConcurrentExecutions: 3,
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 4 }),
      VisibilityTimeout: 70,
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: resolved(stack, queue.queue.queueArn),
      ScalingConfig: { MaximumConcurrency: 3 },
    });
  });
});

describe("relay settings checked at synth", () => {
  it("a forward URL must be an https URL, and the problem never echoes it (it may carry credentials)", () => {
    // Act
    const problems = problemsOf({
      ...PROPS,
      tencent: { ...PROPS.tencent, forwardUrl: "http://user:secret@app.example.com/cb?token=hush" },
      netease: {
        appKey: "0123456789abcdef",
        region: "sg",
        appSecretSecretArn: NETEASE_SECRET_ARN,
        forwardUrl: "not a url hush",
      },
    });

    // Assess
    expect(problems).toEqual([
      "tencent.forwardUrl: uses http, not https: forwards from AWS go to https URLs only",
      "netease.forwardUrl: is not a URL",
    ]);
    expect(problems.join(" ")).not.toMatch(/hush|secret/);
  });

  it("fallback policy, budget, attempt, receives, concurrency and alarm threshold in their ranges", () => {
    // Act
    const problems = problemsOf({
      ...RELAY_PROPS,
      forwardTimeoutMs: 1801,
      forwardFallback: "deny" as never,
      forwardDeliveryTimeoutMs: 31_000,
      forwardQueueMaxReceives: 0,
      forwarderReservedConcurrency: 1,
      forwardFallbackAlarmThreshold: 1.5,
    });

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(/^forwardTimeoutMs: 1801 is not an integer in 1-1800 /),
      'forwardFallback: "deny" is not allow, block or block:<code> (a positive integer)',
      "forwardFallbackAlarmThreshold: 1.5 is not an integer in 0-1000000",
      "forwardDeliveryTimeoutMs: 31000 is not an integer in 1000-30000",
      "forwardQueueMaxReceives: 0 is not an integer in 1-1000",
      expect.stringMatching(/^forwarderReservedConcurrency: 1 is not an integer in 2-1000 /),
    ]);
    for (const fallback of ["allow", "block", "block:1", "block:120001"] as const) {
      expect(problemsOf({ ...RELAY_PROPS, forwardFallback: fallback })).toEqual([]);
    }
    for (const fallback of ["block:", "block:0", "block:-1", "Allow", "block:1:2"]) {
      expect(problemsOf({ ...RELAY_PROPS, forwardFallback: fallback as never })).toHaveLength(1);
    }
  });

  it("relay settings and forward secrets without a forward URL are refused, not silently ignored", () => {
    // Act
    const problems = problemsOf({
      ...PROPS,
      tencent: { ...PROPS.tencent, forwardTokenSecretArn: FORWARD_TOKEN_ARN },
      forwardTimeoutMs: 900,
      forwardFallback: "block",
      forwarderReservedConcurrency: 3,
    });

    // Assess
    expect(problems).toEqual([
      "tencent.forwardTokenSecretArn: applies with tencent.forwardUrl only (-c tencentForwardUrl)",
      "forwardTimeoutMs: applies to the callback relay only, with a forward URL (-c tencentForwardUrl or -c neteaseForwardUrl)",
      "forwardFallback: applies to the callback relay only, with a forward URL (-c tencentForwardUrl or -c neteaseForwardUrl)",
      "forwarderReservedConcurrency: applies to the callback relay only, with a forward URL (-c tencentForwardUrl or -c neteaseForwardUrl)",
    ]);
  });
});

describe("context keys", () => {
  it("the providers' forward keys and the service's relay keys become the stack props", () => {
    // Act
    const result = propsFromContext(
      contextOf({
        ...TENCENT_REQUIRED,
        tencentForwardUrl: TENCENT_FORWARD_URL,
        tencentForwardTokenSecretArn: FORWARD_TOKEN_ARN,
        neteaseAppKey: "0123456789abcdef",
        neteaseRegion: "sg",
        neteaseAppSecretSecretArn: NETEASE_SECRET_ARN,
        neteaseForwardUrl: NETEASE_FORWARD_URL,
        neteaseForwardSecretArn: NETEASE_FORWARD_SECRET_ARN,
        forwardTimeoutMs: "900",
        forwardFallback: "block:120001",
        forwarderReservedConcurrency: 3,
      }),
    );

    // Assess
    expect(result.ok && result.props).toMatchObject({
      tencent: {
        ...TENCENT_REQUIRED,
        forwardUrl: TENCENT_FORWARD_URL,
        forwardTokenSecretArn: FORWARD_TOKEN_ARN,
      },
      netease: NETEASE_RELAY,
      forwardTimeoutMs: 900,
      forwardFallback: "block:120001",
      forwarderReservedConcurrency: 3,
    });
  });

  it("a NetEase forward URL without NetEase itself lists NetEase's missing keys; a budget must be a number", () => {
    // Act
    const result = propsFromContext(
      contextOf({ ...TENCENT_REQUIRED, neteaseForwardUrl: NETEASE_FORWARD_URL, forwardTimeoutMs: "1.2s" }),
    );

    // Assess
    expect(result.ok).toBe(false);
    const message = result.ok ? "" : result.message;
    for (const key of ["neteaseAppKey", "neteaseRegion", "neteaseAppSecretSecretArn"]) {
      expect(message).toContain(`-c ${key}=...`);
    }
    expect(message).toContain('-c forwardTimeoutMs: "1.2s" is not a whole number');
    expect(message).toMatch(/tencentForwardUrl\s+callback relay: /);
  });
});
