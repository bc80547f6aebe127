import { App, Duration, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { PropsError } from "../../infra/constructs/props.ts";
import { ServiceFunction } from "../../infra/constructs/service-function.ts";
import { WorkQueue } from "../../infra/constructs/work-queue.ts";
import { CONSOLE_BUILD_DIR, propsFromContext } from "../../infra/context.ts";
import { ImEditStack, type ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";
import { contextOf, FULL_PROPS, fixture, PROPS, TABLE_KEY_ARN, TENCENT_REQUIRED } from "./helpers.ts";

const appWithoutBundling = () =>
  new App({ context: { "aws:cdk:bundling-stacks": [], "aws:cdk:disable-asset-staging": true } });

/** The problems a construct reports, or [] when it builds. */
function problemsOf(build: () => void): readonly string[] {
  try {
    build();
    return [];
  } catch (error: unknown) {
    if (error instanceof PropsError) return error.problems;
    throw error;
  }
}

/** With the console, its stand-in build (the CDK app builds the real one into console/dist first). */
const stackProblems = (props: ImEditStackProps) =>
  problemsOf(
    () =>
      new ImEditStack(appWithoutBundling(), "Test", {
        ...props,
        ...(props.console ? { console: { ...props.console, assetsPath: fixture("console") } } : {}),
      }),
  );

describe("ImEditStack props", () => {
  it("the callback token secret is mandatory: a stack without it does not synthesize", () => {
    // Prepare: what a JavaScript caller or a bad cast can pass despite the types.
    const { callbackTokenSecretArn: _, ...tencent } = PROPS.tencent;

    // Act
    const problems = stackProblems({ tencent } as unknown as ImEditStackProps);

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(/^tencent\.callbackTokenSecretArn: missing; .*mandatory/),
    ]);
  });

  it("reports every conflict at once, before building anything", () => {
    // Act
    const problems = stackProblems({
      tencent: {
        sdkAppId: "my-app",
        callbackTokenSecretArn: "",
        secretKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mine",
        adminIdentifier: "x".repeat(33),
        region: "mars" as never,
      },
      netease: { appKey: "", region: "eu" as never, appSecretSecretArn: "not-an-arn" },
      retentionDays: 0,
      editQueueMaxConcurrency: 1,
      recorderP99AlarmMs: 2500,
      apiThrottle: { rateLimit: 0, burstLimit: 100 },
      callbackThrottle: { rateLimit: 10, burstLimit: 10 },
      recorderReservedConcurrency: 0,
      provisionedCapacity: { read: { min: 0, max: 10 }, write: { min: 20, max: 10 } },
      alarmEmail: "ops",
    });

    // Assess: the providers' in their manifests' binding order, then the service's.
    expect(problems.map((problem) => problem.split(":")[0])).toEqual([
      "tencent.sdkAppId",
      "tencent.callbackTokenSecretArn",
      "tencent.secretKeySecretArn",
      "tencent.region",
      "tencent.adminIdentifier",
      "netease.appKey",
      "netease.region",
      "netease.appSecretSecretArn",
      "retentionDays",
      "editQueueMaxConcurrency",
      "recorderP99AlarmMs",
      "callbackThrottle",
      "recorderReservedConcurrency",
      "provisionedCapacity",
      "apiThrottle.rateLimit",
      "alarm email",
    ]);
  });

  it("callback ingress and billing: a value outside the choices is named, with the choices", () => {
    expect(stackProblems({ ...PROPS, callbackIngress: "lambda" as never, billing: "free" as never })).toEqual(
      [
        'callbackIngress: "lambda" is not one of functionUrl, httpApi',
        'billing: "free" is not one of onDemand, provisioned',
      ],
    );
  });

  it("provisioned capacity: at least 1 unit, max not below min, within the table quota, target 20-90%", () => {
    expect(
      stackProblems({
        ...PROPS,
        billing: "provisioned",
        provisionedCapacity: { read: { min: 0, max: 50_000 }, write: { min: 20, max: 10 } },
      }),
    ).toEqual([
      "read capacity min: 0 is not an integer in 1-40000",
      "read capacity max: 50000 is not an integer in 1-40000 (at least the min)",
      "write capacity max: 10 is not an integer in 20-40000 (at least the min)",
    ]);
  });

  it("the worker: its reserved concurrency 2-1000, and the edit queue's guard never above it", () => {
    expect(stackProblems({ ...PROPS, workerReservedConcurrency: 1 })).toEqual([
      "workerReservedConcurrency: 1 is not an integer in 2-1000",
    ]);
    expect(stackProblems({ ...PROPS, editQueueMaxConcurrency: 11 })).toEqual([
      expect.stringMatching(/^editQueueMaxConcurrency: 11 is above workerReservedConcurrency \(10\)/),
    ]);
    expect(stackProblems({ ...PROPS, workerReservedConcurrency: 20, editQueueMaxConcurrency: 15 })).toEqual(
      [],
    );
  });

  it("a table key must live in the stack's region, which must be known", () => {
    expect(stackProblems({ ...PROPS, tableEncryptionKeyArn: TABLE_KEY_ARN })).toEqual([
      expect.stringContaining("needs a region-specific stack"),
    ]);
    expect(
      stackProblems({ ...PROPS, env: { region: "eu-west-1" }, tableEncryptionKeyArn: TABLE_KEY_ARN }),
    ).toEqual([expect.stringContaining("the key is in us-east-1, the stack in eu-west-1")]);
    expect(
      stackProblems({ ...PROPS, env: { region: "us-east-1" }, tableEncryptionKeyArn: "alias/mine" }),
    ).toEqual([expect.stringContaining("is not a KMS key ARN")]);
  });

  it("valid props, minimal and full, build", () => {
    expect(stackProblems(PROPS)).toEqual([]);
    expect(stackProblems(FULL_PROPS)).toEqual([]);
  });
});

describe("ServiceFunction and WorkQueue props", () => {
  it("ServiceFunction reports a missing entry, bad memory and bad timeout together", () => {
    // Act
    const problems = problemsOf(
      () =>
        new ServiceFunction(new Stack(appWithoutBundling(), "S"), "Fn", {
          entry: "functions/nope.ts",
          memorySize: 64,
          timeout: Duration.minutes(20),
        }),
    );

    // Assess
    expect(problems.map((problem) => problem.split(":")[0])).toEqual(["entry", "memorySize", "timeout"]);
  });

  it("ServiceFunction.consume rejects a concurrency guard SQS does not allow", () => {
    // Prepare
    const stack = new Stack(appWithoutBundling(), "S");
    const fn = new ServiceFunction(stack, "Fn", { entry: "functions/editor.ts" });
    const queue = new WorkQueue(stack, "Q", { consumerTimeout: Duration.seconds(10) });

    // Act
    const problems = problemsOf(() => fn.consume(queue.queue, { batchSize: 11, maxConcurrency: 1 }));

    // Assess
    expect(problems.map((problem) => problem.split(":")[0])).toEqual(["batchSize", "maxConcurrency"]);
  });

  it("WorkQueue rejects a receive count of 0 and a visibility timeout beyond SQS's 12 h", () => {
    const problems = problemsOf(
      () =>
        new WorkQueue(new Stack(appWithoutBundling(), "S"), "Q", {
          consumerTimeout: Duration.hours(3),
          maxReceiveCount: 0,
        }),
    );
    expect(problems.map((problem) => problem.split(":")[0])).toEqual(["maxReceiveCount", "consumerTimeout"]);
  });
});

describe("app context (-c key=value)", () => {
  it("without parameters, says which are missing and how to pass them", () => {
    // Act
    const result = propsFromContext(contextOf({}));

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const key of ["sdkAppId", "callbackTokenSecretArn", "secretKeySecretArn"]) {
      expect(result.message).toContain(`-c ${key}=...`);
    }
    expect(result.message).toContain("npx cdk deploy");
  });

  it("NetEase settings come as a set of three", () => {
    const result = propsFromContext(contextOf({ ...TENCENT_REQUIRED, neteaseAppKey: "k" }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain("-c neteaseRegion=...");
    expect(result.message).toContain("-c neteaseAppSecretSecretArn=...");
  });

  it("maps every parameter onto the stack props", () => {
    // Act
    const result = propsFromContext(
      contextOf({
        ...TENCENT_REQUIRED,
        tencentRegion: "sgp",
        adminIdentifier: "im_admin",
        recordAvChatRoom: "true",
        neteaseAppKey: "0123456789abcdef",
        neteaseRegion: "sg",
        neteaseAppSecretSecretArn: FULL_PROPS.netease?.appSecretSecretArn,
        tableKmsKeyArn: TABLE_KEY_ARN,
        alarmEmail: "ops@example.com",
        retentionDays: "365",
        logRetentionDays: 90,
        stackName: "ImEditStaging",
        callbackIngress: "functionUrl",
        recorderReservedConcurrency: "80",
        billing: "provisioned",
        readCapacityMin: 2,
        readCapacityMax: "40",
        writeCapacityMin: "3",
        writeCapacityMax: 60,
        tracing: "active",
        workerReservedConcurrency: "12",
      }),
    );

    // Assess
    expect(result).toEqual({
      ok: true,
      stackName: "ImEditStaging",
      props: {
        ...FULL_PROPS,
        description: expect.any(String),
        logRetention: 90,
        workerReservedConcurrency: 12,
        // On unless -c console=off: the app builds it there first.
        console: { assetsPath: CONSOLE_BUILD_DIR },
      },
    });
    expect(result.ok && stackProblems(result.props)).toEqual([]);
  });

  it("capacity bounds: only with billing=provisioned; one bound given, the other is its default", () => {
    const onDemand = propsFromContext(contextOf({ ...TENCENT_REQUIRED, writeCapacityMax: "100" }));
    expect(onDemand.ok).toBe(false);
    if (onDemand.ok) return;
    expect(onDemand.message).toMatch(/writeCapacityMax: apply with -c billing=provisioned only/);

    const partial = propsFromContext(
      contextOf({ ...TENCENT_REQUIRED, billing: "provisioned", writeCapacityMax: "100" }),
    );
    expect(partial.ok && partial.props.provisionedCapacity).toEqual({
      read: { min: 5, max: 200 },
      write: { min: 5, max: 100 },
    });
  });

  it("bad choices and bounds fail synth, naming the value", () => {
    for (const [values, expected] of [
      [{ callbackIngress: "lambda" }, 'callbackIngress: "lambda" is not one of functionUrl, httpApi'],
      [{ billing: "reserved" }, 'billing: "reserved" is not one of onDemand, provisioned'],
      [{ tracing: "sampled" }, 'tracing: "sampled" is not one of off, active'],
      [
        { recorderReservedConcurrency: "5000" },
        "recorderReservedConcurrency: 5000 is not an integer in 1-1000",
      ],
      [
        { billing: "provisioned", readCapacityMin: "300" },
        "read capacity max: 200 is not an integer in 300-40000 (at least the min)",
      ],
    ] as const) {
      // Act: the context maps the values; the stack checks them (as infra/app.ts runs both).
      const result = propsFromContext(contextOf({ ...TENCENT_REQUIRED, ...values }));

      // Assess
      expect(result.ok && stackProblems(result.props)).toEqual([expected]);
    }
    const shape = propsFromContext(contextOf({ ...TENCENT_REQUIRED, recorderReservedConcurrency: "many" }));
    expect(!shape.ok && shape.message).toMatch(/recorderReservedConcurrency: "many" is not a whole number/);
  });

  it("rejects values of the wrong shape", () => {
    const result = propsFromContext(
      contextOf({
        ...TENCENT_REQUIRED,
        recordAvChatRoom: "yes",
        retentionDays: "a year",
        logRetentionDays: 31,
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toMatch(/recordAvChatRoom.*not true or false/);
    expect(result.message).toMatch(/retentionDays.*not a whole number/);
    expect(result.message).toMatch(/logRetentionDays: 31 is not a CloudWatch retention/);
  });
});
