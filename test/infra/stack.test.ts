import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { createTableInput, TABLE } from "../../functions/adapters/dynamodb/table.ts";
import { isCallbackRoute, OPENAPI_ROUTE_KEY, ROUTES, routeKey } from "../../functions/http/routes.ts";
import type { ServiceFunction } from "../../infra/constructs/service-function.ts";
import type { WorkQueue } from "../../infra/constructs/work-queue.ts";
import {
  EDIT_QUEUE_VISIBILITY,
  type ImEditStack,
  JOB_SLICE,
  WORKER_TIMEOUT,
} from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CALLBACK_TOKEN_ARN,
  CONSUME_ACTIONS,
  environmentOf,
  expectQueuesLockedDown,
  FULL_PROPS,
  grantsOf,
  HTTP_API_PROPS,
  logicalId,
  NETEASE_SECRET_ARN,
  PROPS,
  pairs,
  redriveCommandOf,
  resolved,
  SECRET_KEY_ARN,
  type Statement,
  TABLE_KEY_ARN,
} from "./helpers.ts";

// One synthesis per configuration, shared by the tests that read it (each takes about a second).
const base = buildStack();
const full = buildStack(FULL_PROPS);
const viaApi = buildStack(HTTP_API_PROPS);

const ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
];
/** What every function may do with the table and its own logs (and traces, with tracing active). */
function baseGrants(stack: ImEditStack, fn: ServiceFunction, traced = false): string[] {
  const tableArn = resolved(stack, stack.table.table.tableArn);
  const indexArns = Object.keys(TABLE.indexes).map((name) =>
    resolved(stack, `${stack.table.table.tableArn}/index/${name}`),
  );
  return [
    ...pairs(["logs:CreateLogStream", "logs:PutLogEvents"], [resolved(stack, fn.logGroup.logGroupArn)]),
    ...(traced ? pairs(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]) : []),
    ...pairs(ITEM_ACTIONS, [tableArn]),
    ...pairs(["dynamodb:Query"], [tableArn, ...indexArns]),
  ];
}

const queueGrants = (stack: ImEditStack, queue: WorkQueue): string[] =>
  pairs(["sqs:SendMessage", ...CONSUME_ACTIONS], [resolved(stack, queue.queue.queueArn)]);
const sendGrant = (stack: ImEditStack, queue: WorkQueue): string[] =>
  pairs(["sqs:SendMessage"], [resolved(stack, queue.queue.queueArn)]);
/** A consumer puts what it gives up on in its queue's DLQ itself, with the reason: SendMessage there only. */
const deadLetterGrant = (stack: ImEditStack, queue: WorkQueue): string[] =>
  pairs(["sqs:SendMessage"], [resolved(stack, queue.deadLetterQueue.queueArn)]);

describe("IAM: each function gets exactly what its code uses", () => {
  it("recorder: table, callback token secret, fallback queue (send + drain) and its DLQ (send); nothing of the editor's", () => {
    // Prepare
    const { stack, template } = base;

    // Act
    const grants = grantsOf(template, logicalId(stack.recorder.role));

    // Assess
    expect(grants).toEqual(
      [
        ...baseGrants(stack, stack.recorder),
        ...pairs(["secretsmanager:GetSecretValue"], [CALLBACK_TOKEN_ARN]),
        ...queueGrants(stack, stack.fallbackQueue),
        ...deadLetterGrant(stack, stack.fallbackQueue),
      ].sort(),
    );
  });

  it("editor: table, Tencent secret key, edit queue (send only: the worker consumes it); nothing of the recorder's", () => {
    // Prepare
    const { stack, template } = base;

    // Act
    const grants = grantsOf(template, logicalId(stack.editor.role));

    // Assess
    expect(grants).toEqual(
      [
        ...baseGrants(stack, stack.editor),
        ...pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN]),
        ...sendGrant(stack, stack.editQueue),
      ].sort(),
    );
  });

  it("worker: the editor's table and secret grants (job state lives in the table), edit queue send + consume, its DLQ send", () => {
    // Prepare
    const { stack, template } = base;

    // Act
    const grants = grantsOf(template, logicalId(stack.worker.role));

    // Assess: the same DynamoDB actions as the editor, nothing more; SendMessage re-enqueues job slices.
    expect(grants).toEqual(
      [
        ...baseGrants(stack, stack.worker),
        ...pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN]),
        ...queueGrants(stack, stack.editQueue),
        ...deadLetterGrant(stack, stack.editQueue),
      ].sort(),
    );
    const dynamo = (fn: ServiceFunction) =>
      grantsOf(template, logicalId(fn.role)).filter((grant) => grant.startsWith("dynamodb:"));
    expect(dynamo(stack.worker)).toEqual(dynamo(stack.editor));
  });

  it("with NetEase and a table key: both functions read the AppSecret and use the key only through DynamoDB", () => {
    // Prepare
    const { stack, template } = full;
    const kms = pairs(
      ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
      [TABLE_KEY_ARN],
    );

    // Act
    const recorder = grantsOf(template, logicalId(stack.recorder.role));
    const editor = grantsOf(template, logicalId(stack.editor.role));
    const worker = grantsOf(template, logicalId(stack.worker.role));

    // Assess
    expect(recorder).toEqual(
      [
        ...baseGrants(stack, stack.recorder, true),
        ...pairs(["secretsmanager:GetSecretValue"], [CALLBACK_TOKEN_ARN, NETEASE_SECRET_ARN]),
        ...queueGrants(stack, stack.fallbackQueue),
        ...deadLetterGrant(stack, stack.fallbackQueue),
        ...kms,
      ].sort(),
    );
    expect(editor).toEqual(
      [
        ...baseGrants(stack, stack.editor, true),
        ...pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN, NETEASE_SECRET_ARN]),
        ...sendGrant(stack, stack.editQueue),
        ...kms,
      ].sort(),
    );
    expect(worker).toEqual(
      [
        ...baseGrants(stack, stack.worker, true),
        ...pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN, NETEASE_SECRET_ARN]),
        ...queueGrants(stack, stack.editQueue),
        ...deadLetterGrant(stack, stack.editQueue),
        ...kms,
      ].sort(),
    );
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["kms:Decrypt"]),
            Condition: {
              StringEquals: {
                "kms:ViaService": "dynamodb.us-east-1.amazonaws.com",
              },
            },
          }),
        ]),
      },
    });
  });

  it("no wildcard action anywhere, and Resource '*' only for X-Ray (which supports nothing narrower)", () => {
    for (const { template } of [base, full]) {
      // Act
      const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
      );

      // Assess
      for (const statement of statements) {
        const actions = [statement.Action].flat();
        expect(actions.filter((action) => action.includes("*"))).toEqual([]);
        if ([statement.Resource].flat().includes("*")) {
          expect(actions.every((action) => action.startsWith("xray:"))).toBe(true);
        }
      }
      // No role carries a managed policy (AWSLambdaBasicExecutionRole would allow writing to any log group).
      template.allResourcesProperties("AWS::IAM::Role", { ManagedPolicyArns: Match.absent() });
    }
  });
});

describe("functions", () => {
  const { stack, template } = base;
  const common = {
    NODE_OPTIONS: "--enable-source-maps",
    POWERTOOLS_SERVICE_NAME: "im-edit",
    POWERTOOLS_METRICS_NAMESPACE: "ImEdit",
    TENCENT_SDKAPPID: "1400000000",
    TENCENT_ADMIN_IDENTIFIER: "administrator",
    TABLE_NAME: resolved(stack, stack.table.table.tableName),
    LISTINGS: "conversation,app",
  };

  it("house defaults: Node 24, arm64, no tracing, 256 MB, JSON logs without Lambda's INFO lines, own log group with 30-day retention", () => {
    for (const fn of [stack.recorder, stack.editor, stack.worker]) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        Role: resolved(stack, fn.role.roleArn),
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        MemorySize: 256,
        // PassThrough: Lambda samples nothing of its own.
        TracingConfig: Match.absent(),
        // START/END/REPORT are INFO platform lines: not ingested at WARN.
        LoggingConfig: {
          LogGroup: resolved(stack, fn.logGroup.logGroupName),
          LogFormat: "JSON",
          ApplicationLogLevel: "INFO",
          SystemLogLevel: "WARN",
        },
      });
    }
    // One per function, and the HTTP API's access logs.
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 4);
  });

  it("tracing active (-c tracing=active): every function traced, and only then the X-Ray grant", () => {
    // Prepare
    const traced = full;

    // Act
    const tracingModes = Object.values(traced.template.findResources("AWS::Lambda::Function")).map(
      (fn) => fn.Properties.TracingConfig,
    );
    const xrayGrants = (built: typeof base) =>
      [built.stack.recorder, built.stack.editor, built.stack.worker].flatMap((fn) =>
        grantsOf(built.template, logicalId(fn.role)).filter((grant) => grant.startsWith("xray:")),
      );

    // Assess
    expect(tracingModes).toEqual([{ Mode: "Active" }, { Mode: "Active" }, { Mode: "Active" }]);
    expect(xrayGrants(traced)).toHaveLength(6);
    expect(xrayGrants(base)).toEqual([]);
    expect(() => buildStack({ ...PROPS, tracing: "sampled" as never })).toThrow(
      /tracing: "sampled" is not one of off, active/,
    );
  });

  it("recorder environment: exactly what its config reads, secrets by ARN only", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.recorder.role.roleArn),
      Timeout: 10,
      Environment: {
        Variables: Match.objectEquals({
          ...common,
          TENCENT_CALLBACK_TOKEN_SECRET_ARN: CALLBACK_TOKEN_ARN,
          FALLBACK_QUEUE_URL: resolved(stack, stack.fallbackQueue.queue.queueUrl),
          FALLBACK_DLQ_URL: resolved(stack, stack.fallbackQueue.deadLetterQueue.queueUrl),
          FALLBACK_QUEUE_MAX_RECEIVES: "5",
        }),
      },
    });
  });

  it("editor environment: exactly what its config reads, secrets by ARN only; fits API Gateway's 30 s", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.editor.role.roleArn),
      Timeout: 29,
      Environment: {
        Variables: Match.objectEquals({
          ...common,
          TENCENT_REGION: "cn",
          TENCENT_SECRET_KEY_SECRET_ARN: SECRET_KEY_ARN,
          EDIT_QUEUE_URL: resolved(stack, stack.editQueue.queue.queueUrl),
        }),
      },
    });
  });

  it("worker environment: the editor's, plus its dead letters and JOB_SLICE_MS well inside its 15-minute timeout", () => {
    // Prepare
    const editor = environmentOf(template, stack, stack.editor);
    const worker = environmentOf(template, stack, stack.worker);
    const sliceMs = Number(worker.JOB_SLICE_MS);

    // Assess: the slice leaves minutes for calls in flight, the checkpoint and the re-enqueue.
    expect(worker).toEqual({
      ...editor,
      JOB_SLICE_MS: String(JOB_SLICE.toMilliseconds()),
      EDIT_DLQ_URL: resolved(stack, stack.editQueue.deadLetterQueue.queueUrl),
      EDIT_QUEUE_MAX_RECEIVES: "5",
    });
    expect(worker.EDIT_QUEUE_URL).toEqual(resolved(stack, stack.editQueue.queue.queueUrl));
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.worker.role.roleArn),
      Timeout: 900,
      MemorySize: 256,
      Handler: "index.handler",
    });
    expect(sliceMs).toBeGreaterThan(0);
    expect(sliceMs).toBeLessThanOrEqual(WORKER_TIMEOUT.toMilliseconds() - 2 * 60_000);
  });

  it("worker: the editor's own entry and handler (the same bundle, no new code path)", () => {
    expect(stack.worker.entry).toBe("functions/editor.ts");
    expect(stack.worker.entry).toBe(stack.editor.entry);
  });

  it("optional settings reach the functions' environment", () => {
    const { stack: fullStack, template: fullTemplate } = full;
    const shared = {
      TENCENT_ADMIN_IDENTIFIER: "im_admin",
      RETENTION_DAYS: "365",
      NETEASE_APP_KEY: "0123456789abcdef",
      NETEASE_REGION: "sg",
      NETEASE_APP_SECRET_SECRET_ARN: NETEASE_SECRET_ARN,
    };
    fullTemplate.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(fullStack, fullStack.recorder.role.roleArn),
      Environment: { Variables: Match.objectLike({ ...shared, TENCENT_RECORD_AVCHATROOM: "true" }) },
    });
    for (const fn of [fullStack.editor, fullStack.worker]) {
      fullTemplate.hasResourceProperties("AWS::Lambda::Function", {
        Role: resolved(fullStack, fn.role.roleArn),
        Environment: { Variables: Match.objectLike({ ...shared, TENCENT_REGION: "sgp" }) },
      });
    }
  });

  it("no hard-coded physical names", () => {
    for (const [type, property] of [
      ["AWS::Lambda::Function", "FunctionName"],
      ["AWS::IAM::Role", "RoleName"],
      ["AWS::SQS::Queue", "QueueName"],
      ["AWS::SNS::Topic", "TopicName"],
      ["AWS::DynamoDB::GlobalTable", "TableName"],
      ["AWS::Logs::LogGroup", "LogGroupName"],
    ] as const) {
      template.allResourcesProperties(type, { [property]: Match.absent() });
    }
  });
});

describe("table", () => {
  it("key schema and GSIs come from TABLE, the same definition the local stores create", () => {
    // Prepare
    const local = createTableInput("unused");

    // Assess
    base.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      KeySchema: local.KeySchema,
      AttributeDefinitions: Match.arrayEquals(local.AttributeDefinitions),
      GlobalSecondaryIndexes: Match.arrayEquals(
        local.GlobalSecondaryIndexes.map((index) => ({
          IndexName: index.IndexName,
          KeySchema: index.KeySchema,
          Projection: index.Projection,
        })),
      ),
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    });
  });

  it("on-demand, point-in-time recovery, deletion protection, retained with the stack", () => {
    base.template.hasResource("AWS::DynamoDB::GlobalTable", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: "PAY_PER_REQUEST",
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
        ],
      }),
    });
  });

  it("encrypted with the AWS-managed key by default, the customer's key when given", () => {
    base.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
    });
    full.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [Match.objectLike({ SSESpecification: { KMSMasterKeyId: TABLE_KEY_ARN } })],
    });
  });
});

describe("table billing", () => {
  const scaling = (min: number, max: number) => ({
    MinCapacity: min,
    MaxCapacity: max,
    // The seed lets a deployed on-demand table switch to provisioned in place.
    SeedCapacity: min,
    TargetTrackingScalingPolicyConfiguration: { TargetValue: 70 },
  });
  const tableOf = (template: typeof base.template) => {
    const [table] = Object.values(template.findResources("AWS::DynamoDB::GlobalTable"));
    return table?.Properties as {
      BillingMode: string;
      WriteProvisionedThroughputSettings?: unknown;
      GlobalSecondaryIndexes: { IndexName: string; WriteProvisionedThroughputSettings?: unknown }[];
      Replicas: {
        ReadProvisionedThroughputSettings?: unknown;
        GlobalSecondaryIndexes?: { IndexName: string; ReadProvisionedThroughputSettings?: unknown }[];
      }[];
    };
  };
  /** Auto scaling as the table resource states it: DynamoDB registers the scalable targets from it. */
  const autoScaling = (template: typeof base.template) => {
    const table = tableOf(template);
    const [replica] = table.Replicas;
    return {
      billingMode: table.BillingMode,
      tableWrite: table.WriteProvisionedThroughputSettings,
      tableRead: replica?.ReadProvisionedThroughputSettings,
      indexWrite: Object.fromEntries(
        table.GlobalSecondaryIndexes.map((index) => [
          index.IndexName,
          index.WriteProvisionedThroughputSettings,
        ]),
      ),
      indexRead: Object.fromEntries(
        (replica?.GlobalSecondaryIndexes ?? []).map((index) => [
          index.IndexName,
          index.ReadProvisionedThroughputSettings,
        ]),
      ),
    };
  };
  const eachIndex = (value: unknown) =>
    Object.fromEntries(Object.keys(TABLE.indexes).map((name) => [name, value]));

  it("provisioned: read and write auto scaling (target 70%) on the table and on every index of TABLE", () => {
    expect(autoScaling(full.template)).toEqual({
      billingMode: "PROVISIONED",
      tableWrite: { WriteCapacityAutoScalingSettings: scaling(3, 60) },
      tableRead: { ReadCapacityAutoScalingSettings: scaling(2, 40) },
      indexWrite: eachIndex({ WriteCapacityAutoScalingSettings: scaling(3, 60) }),
      indexRead: eachIndex({ ReadCapacityAutoScalingSettings: scaling(2, 40) }),
    });
  });

  it("provisioned without bounds: 5-200 units each, read and write", () => {
    const { template } = buildStack({ ...PROPS, billing: "provisioned" });
    expect(autoScaling(template)).toEqual({
      billingMode: "PROVISIONED",
      tableWrite: { WriteCapacityAutoScalingSettings: scaling(5, 200) },
      tableRead: { ReadCapacityAutoScalingSettings: scaling(5, 200) },
      indexWrite: eachIndex({ WriteCapacityAutoScalingSettings: scaling(5, 200) }),
      indexRead: eachIndex({ ReadCapacityAutoScalingSettings: scaling(5, 200) }),
    });
  });

  it("on-demand by default: nothing provisioned, nothing to scale", () => {
    expect(autoScaling(base.template)).toEqual({
      billingMode: "PAY_PER_REQUEST",
      tableWrite: undefined,
      tableRead: undefined,
      indexWrite: eachIndex(undefined),
      indexRead: {},
    });
    base.template.resourceCountIs("AWS::ApplicationAutoScaling::ScalableTarget", 0);
  });
});

describe("callback ingress: the recorder's function URL by default", () => {
  const { stack, template } = base;
  const recorderArn = resolved(stack, stack.recorder.function.functionArn);

  it("a function URL with auth NONE on the recorder, open to anyone only through the URL", () => {
    template.resourceCountIs("AWS::Lambda::Url", 1);
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", TargetFunctionArn: recorderArn });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunctionUrl",
      FunctionName: recorderArn,
      Principal: "*",
      FunctionUrlAuthType: "NONE",
    });
    // Function URLs need lambda:InvokeFunction too; this one holds only for calls through the URL.
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: recorderArn,
      Principal: "*",
      InvokedViaFunctionUrl: true,
    });
    expect(
      Object.values(template.findResources("AWS::Lambda::Permission")).filter(
        (permission) => permission.Properties.Principal === "*",
      ),
    ).toHaveLength(2);
    expect(stack.callbackUrl).toBeDefined();
  });

  it("throttled by the recorder's reserved concurrency (50); the editor keeps the shared pool, the worker 10", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.recorder.role.roleArn),
      ReservedConcurrentExecutions: 50,
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.editor.role.roleArn),
      ReservedConcurrentExecutions: Match.absent(),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(stack, stack.worker.role.roleArn),
      ReservedConcurrentExecutions: 10,
    });
    full.template.hasResourceProperties("AWS::Lambda::Function", {
      Role: resolved(full.stack, full.stack.recorder.role.roleArn),
      ReservedConcurrentExecutions: 80,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Throttles",
      Dimensions: [{ Name: "FunctionName", Value: resolved(stack, stack.recorder.function.functionName) }],
      AlarmDescription: Match.stringLikeRegexp("reserved concurrency \\(50\\).*recorderReservedConcurrency"),
    });
  });

  it("the HTTP API keeps /v1 behind IAM and the open OpenAPI document, with no callback route or route throttle", () => {
    const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route"));
    const kept = ROUTES.filter((route) => !isCallbackRoute(route));
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(kept.map(routeKey).sort());
    expect(
      Object.fromEntries(
        routes.map((route) => [route.Properties.RouteKey, route.Properties.AuthorizationType]),
      ),
    ).toEqual(
      Object.fromEntries(kept.map((route) => [routeKey(route), route.auth === "api" ? "AWS_IAM" : "NONE"])),
    );
    expect(kept.filter((route) => route.auth === "none").map(routeKey)).toEqual([OPENAPI_ROUTE_KEY]);
    expect(routes.some((route) => String(route.Properties.RouteKey).includes("/callbacks/"))).toBe(false);
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", { RouteSettings: Match.absent() });
    // Nothing on the HTTP API may invoke the recorder.
    template.resourcePropertiesCountIs(
      "AWS::Lambda::Permission",
      { FunctionName: recorderArn, Principal: "apigateway.amazonaws.com" },
      0,
    );
  });

  it("outputs the callback URLs on the function URL, one per configured provider", () => {
    const urlOf = (s: ImEditStack) => resolved(s, s.callbackUrl?.url);
    template.hasOutput("TencentCallbackUrl", {
      Value: { "Fn::Join": ["", [urlOf(stack), "callbacks/tencent"]] },
    });
    expect(template.findOutputs("NeteaseCallbackUrl")).toEqual({});
    full.template.hasOutput("NeteaseCallbackUrl", {
      Value: { "Fn::Join": ["", [urlOf(full.stack), "callbacks/netease"]] },
    });
  });

  it("with callbackIngress httpApi: no function URL and no reserved concurrency but the worker's", () => {
    viaApi.template.resourceCountIs("AWS::Lambda::Url", 0);
    viaApi.template.resourcePropertiesCountIs("AWS::Lambda::Permission", { Principal: "*" }, 0);
    for (const fn of [viaApi.stack.recorder, viaApi.stack.editor]) {
      viaApi.template.hasResourceProperties("AWS::Lambda::Function", {
        Role: resolved(viaApi.stack, fn.role.roleArn),
        ReservedConcurrentExecutions: Match.absent(),
      });
    }
    expect(viaApi.stack.callbackUrl).toBeUndefined();
  });
});

describe("HTTP API with callbackIngress httpApi", () => {
  const { stack, template } = viaApi;
  const functionFor = { recorder: stack.recorder, editor: stack.editor } as const;

  it("one route per ROUTES entry: callbacks open (verified in code), /v1 behind IAM", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Route", ROUTES.length);
    template.resourceCountIs("AWS::ApiGatewayV2::Authorizer", 0);
    for (const route of ROUTES) {
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: routeKey(route),
        AuthorizationType: route.auth === "api" ? "AWS_IAM" : "NONE",
      });
    }
    expect(
      ROUTES.filter((route) => route.path.startsWith("/v1/") || route.path === "/v1").every(
        (r) => r.auth === "api",
      ),
    ).toBe(true);
  });

  it("each route reaches its function, and each function may be invoked only by its own routes", () => {
    const integrations = template.findResources("AWS::ApiGatewayV2::Integration");
    const routes = template.findResources("AWS::ApiGatewayV2::Route");
    for (const route of ROUTES) {
      // Prepare
      const [found] = Object.values(routes).filter((r) => r.Properties.RouteKey === routeKey(route));
      const target = JSON.stringify(found?.Properties.Target);
      const [integrationId] = Object.keys(integrations).filter((id) => target.includes(`"${id}"`));

      // Assess
      expect(integrations[integrationId ?? ""]?.Properties).toMatchObject({
        IntegrationType: "AWS_PROXY",
        PayloadFormatVersion: "2.0",
        IntegrationUri: resolved(stack, functionFor[route.function].function.functionArn),
      });
      template.hasResourceProperties("AWS::Lambda::Permission", {
        FunctionName: resolved(stack, functionFor[route.function].function.functionArn),
        Principal: "apigateway.amazonaws.com",
        SourceArn: {
          "Fn::Join": ["", Match.arrayWith([Match.stringLikeRegexp(`^/\\*/\\*${literal(route.path)}$`)])],
        },
      });
    }
  });

  it("throttled: the stage default for /v1, a higher per-route limit for callbacks", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: Object.fromEntries(
        ROUTES.filter(isCallbackRoute).map((r) => [
          routeKey(r),
          { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
        ]),
      ),
    });
  });

  it("access logs: JSON with request id and route key, never the path or query string (Tencent's Sign)", () => {
    // Prepare: the /v1 stage keeps its access logs whatever the callback ingress.
    const { stack, template } = base;
    const [stage] = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"));
    const settings = stage?.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };

    // Act
    const fields = Object.values(JSON.parse(settings.Format) as Record<string, string>);

    // Assess
    expect(settings.DestinationArn).toEqual(resolved(stack, stack.api.accessLogs.logGroupArn));
    expect(fields).toEqual(
      expect.arrayContaining(["$context.requestId", "$context.routeKey", "$context.status"]),
    );
    for (const field of fields) expect(field).not.toMatch(/path|query|uri|override/i);
  });
  it("outputs what a deployer needs: callback URL, API URL, invoke ARN for /v1 only, editor, queue, table", () => {
    template.hasOutput("TencentCallbackUrl", {
      Value: { "Fn::Join": ["", Match.arrayWith(["/callbacks/tencent"])] },
    });
    expect(viaApi.template.findOutputs("NeteaseCallbackUrl")).toEqual({});
    template.hasOutput("ApiInvokeArn", {
      Value: { "Fn::Join": ["", Match.arrayWith(["/$default/*/v1/*"])] },
    });
    for (const name of [
      "ApiUrl",
      "EditorFunctionName",
      "WorkerFunctionName",
      "EditQueueUrl",
      "TableName",
      "AlarmTopicArn",
    ]) {
      template.hasOutput(name, {});
    }
  });
});

describe("queues", () => {
  const { stack, template } = base;

  it.each([
    ["edit queue → worker, one message a batch", "editQueue", "worker", 900, 1080, 1],
    ["fallback queue → recorder", "fallbackQueue", "recorder", 10, 60, 10],
  ] as const)(
    "%s: partial batch failures, dead-letter queue after 5 receives, visibility at least the consumer's timeout",
    (_, queueName, fnName, timeout, visibility, batchSize) => {
      // Prepare
      const queue = stack[queueName];

      // Assess
      template.hasResourceProperties("AWS::Lambda::Function", {
        Role: resolved(stack, stack[fnName].role.roleArn),
        Timeout: timeout,
      });
      template.hasResourceProperties("AWS::SQS::Queue", {
        RedrivePolicy: {
          deadLetterTargetArn: resolved(stack, queue.deadLetterQueue.queueArn),
          maxReceiveCount: 5,
        },
        VisibilityTimeout: visibility,
        SqsManagedSseEnabled: true,
      });
      expect(visibility).toBeGreaterThanOrEqual(timeout);
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: resolved(stack, queue.queue.queueArn),
        FunctionName: resolved(stack, stack[fnName].function.functionName),
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        BatchSize: batchSize,
      });
    },
  );

  it("the edit queue's visibility: the worker's timeout and 3 minutes, so a crashed slice is retried soon", () => {
    expect(EDIT_QUEUE_VISIBILITY.toSeconds()).toBe(WORKER_TIMEOUT.toSeconds() + 180);
    expect(stack.editQueue.visibilityTimeout.toSeconds()).toBe(EDIT_QUEUE_VISIBILITY.toSeconds());
  });

  it("only the worker consumes the edit queue; the editor only sends to it", () => {
    const consumers = Object.values(template.findResources("AWS::Lambda::EventSourceMapping"))
      .filter(
        (mapping) =>
          JSON.stringify(mapping.Properties.EventSourceArn) ===
          JSON.stringify(resolved(stack, stack.editQueue.queue.queueArn)),
      )
      .map((mapping) => mapping.Properties.FunctionName);
    expect(consumers).toEqual([resolved(stack, stack.worker.function.functionName)]);
  });

  it("only the worker's event source carries a concurrency guard, its reserved concurrency (never throttled by it)", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: resolved(stack, stack.editQueue.queue.queueArn),
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: resolved(stack, stack.fallbackQueue.queue.queueArn),
      ScalingConfig: Match.absent(),
    });
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
  });

  it.each([
    ["EditQueueRedrive", "editQueue"],
    ["FallbackQueueRedrive", "fallbackQueue"],
  ] as const)(
    "%s output: the redrive command for that queue's dead letters, back to that queue",
    (name, queueName) => {
      // The destination is named: letters the consumer put there itself have no source queue SQS knows of.
      template.hasOutput(name, { Value: redriveCommandOf(stack, stack[queueName]) });
    },
  );

  it.each([
    ["editQueue", "worker", "EDIT"],
    ["fallbackQueue", "recorder", "FALLBACK"],
  ] as const)(
    "%s: its consumer stops retrying on the receive the queue's redrive policy counts to",
    (queueName, fnName, prefix) => {
      const queue = stack[queueName];
      expect(environmentOf(template, stack, stack[fnName])[`${prefix}_QUEUE_MAX_RECEIVES`]).toBe(
        String(queue.maxReceiveCount),
      );
      template.hasResourceProperties("AWS::SQS::Queue", {
        RedrivePolicy: {
          deadLetterTargetArn: resolved(stack, queue.deadLetterQueue.queueArn),
          maxReceiveCount: queue.maxReceiveCount,
        },
      });
    },
  );

  it("every queue is encrypted, TLS-only, and dead letters are kept 14 days", () => {
    expectQueuesLockedDown(template, { queues: 4, deadLetterQueues: 2 });
  });
});

describe("alarms", () => {
  const { stack, template } = base;
  const topic = resolved(stack, stack.alarms.topic.topicArn);
  const fnDimension = (fn: ServiceFunction) => [
    { Name: "FunctionName", Value: resolved(stack, fn.function.functionName) },
  ];
  const queueDimension = (queueName: unknown) => [{ Name: "QueueName", Value: queueName }];

  it.each([
    ["recorder errors", "Errors", "AWS/Lambda", () => fnDimension(stack.recorder)],
    ["recorder throttles", "Throttles", "AWS/Lambda", () => fnDimension(stack.recorder)],
    ["editor errors", "Errors", "AWS/Lambda", () => fnDimension(stack.editor)],
    ["editor throttles", "Throttles", "AWS/Lambda", () => fnDimension(stack.editor)],
    [
      "worker errors (a job slice failed or timed out)",
      "Errors",
      "AWS/Lambda",
      () => fnDimension(stack.worker),
    ],
    ["worker throttles", "Throttles", "AWS/Lambda", () => fnDimension(stack.worker)],
    [
      "edit DLQ depth",
      "ApproximateNumberOfMessagesVisible",
      "AWS/SQS",
      () => queueDimension(resolved(stack, stack.editQueue.deadLetterQueue.queueName)),
    ],
    [
      "fallback DLQ depth",
      "ApproximateNumberOfMessagesVisible",
      "AWS/SQS",
      () => queueDimension(resolved(stack, stack.fallbackQueue.deadLetterQueue.queueName)),
    ],
    [
      "fallback queue depth",
      "ApproximateNumberOfMessagesVisible",
      "AWS/SQS",
      () => queueDimension(resolved(stack, stack.fallbackQueue.queue.queueName)),
    ],
  ])("%s: fires at the first occurrence and notifies the topic", (_, metricName, namespace, dimensions) => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: metricName,
      Namespace: namespace,
      Dimensions: dimensions(),
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [topic],
    });
  });

  it("fail closed: fires at the first request refused because a secret resolved empty (either function)", () => {
    // The functions count `Misconfigured` (EMF, namespace ImEdit, service dimension) at each cold start
    // that finds an unusable secret and at each callback or edit refused for it.
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Misconfigured",
      Namespace: "ImEdit",
      Dimensions: [{ Name: "service", Value: "im-edit" }],
      Statistic: "Sum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [topic],
      AlarmDescription: Match.stringLikeRegexp("503"),
    });
  });

  it("recorder p99 duration above 1500 ms, against Tencent's 2 s callback budget", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Duration",
      Dimensions: fnDimension(stack.recorder),
      ExtendedStatistic: "p99",
      Threshold: 1500,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic],
    });
    template.resourceCountIs("AWS::CloudWatch::Alarm", 11);
  });

  it("the topic is encrypted with a rotated key CloudWatch may use, TLS-only; email subscription when asked", () => {
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: resolved(stack, stack.alarms.key.keyArn),
    });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
          }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    full.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
  });
});

/** A route path as it appears, literally, at the end of a permission's source ARN. */
const literal = (path: string): string => path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
