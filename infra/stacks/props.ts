import type { StackProps } from "aws-cdk-lib";
import type { ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Listing } from "../../functions/core/listings.ts";
import type { ProviderManifest } from "../../functions/providers/manifest.ts";
import type { EventsMode } from "../constructs/events-queue.ts";
import type { CapacityRange } from "../constructs/message-table.ts";
import type { OperatorConsoleProps } from "../constructs/operator-console.ts";
import type { FunctionTracing } from "../constructs/service-function.ts";
import type { RegisteredProvidersProps } from "./providers.ts";

export type { EventsMode } from "../constructs/events-queue.ts";
export type { FunctionTracing } from "../constructs/service-function.ts";

/**
 * Where providers deliver callbacks.
 * - `functionUrl`: a Lambda function URL on the recorder (no per-request charge), throttled by the
 *   recorder's reserved concurrency; the HTTP API serves `/v1` only.
 * - `httpApi`: routes on the HTTP API ($1.00 per million requests), throttled per route.
 */
export type CallbackIngress = "functionUrl" | "httpApi";
export const CALLBACK_INGRESSES: readonly CallbackIngress[] = ["functionUrl", "httpApi"];

/** `onDemand`: pay per request. `provisioned`: capacity with auto scaling, cheaper for steady traffic. */
export type TableBilling = "onDemand" | "provisioned";
export const TABLE_BILLINGS: readonly TableBilling[] = ["onDemand", "provisioned"];

export const DEFAULTS = {
  callbackIngress: "functionUrl",
  /** With a function URL: 50 concurrent invocations of 50 ms each take 1,000 callbacks/s, the HTTP API route's rate. */
  recorderReservedConcurrency: 50,
  billing: "onDemand",
  /** Auto scaling bounds, per table and per index. */
  provisionedCapacity: { read: { min: 5, max: 200 }, write: { min: 5, max: 200 } },
  /** The job runner's cap: bulk-job slices, after-send rules and queued edits run at most this many at once. */
  workerReservedConcurrency: 10,
  recorderP99AlarmMs: 1500,
  events: "off",
  tracing: "off",
  /** The callback relay (with a forward URL): one forward delivery attempt, ms (FORWARD_TIMEOUT_MS). */
  forwardDeliveryTimeoutMs: 5000,
  /** Receives of a forward before it is dead-lettered (FORWARD_QUEUE_MAX_RECEIVES). */
  forwardQueueMaxReceives: 8,
  /** The forwarder's reserved concurrency (and its event source's guard). */
  forwarderReservedConcurrency: 5,
  /** ForwardFallback alarm: more before-send fallbacks than this in 5 minutes. */
  forwardFallbackAlarmThreshold: 10,
} as const;

/**
 * The stack props: one entry per registered provider, named after it and derived from its manifest's CDK
 * bindings (providers/<name>/manifest.ts, `cdk.context`: each binding's `prop`, with what it means), e.g.
 * `tencent: { sdkAppId, callbackTokenSecretArn, secretKeySecretArn, region?, adminIdentifier?,
 * recordAvChatRoom? }` and `netease?: { appKey, region, appSecretSecretArn }`; then the service's own.
 */
export interface ImEditStackProps extends StackProps, RegisteredProvidersProps {
  /**
   * The provider manifests the stack deploys (their props above, their bindings' variables and secrets).
   * They must be the ones the function bundles register; tests pass a list with an extra provider.
   * @default - the registered providers (functions/providers/recorder-providers.ts)
   */
  readonly manifests?: readonly ProviderManifest[];
  /**
   * ARN of a customer-managed KMS key (same region) to encrypt the table with.
   * @default - the AWS-managed key `aws/dynamodb`
   */
  readonly tableEncryptionKeyArn?: string;
  /** @default - no subscription to the alarm topic */
  readonly alarmEmail?: string;
  /** @default { rateLimit: 50, burstLimit: 100 } (see ServiceApi) */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * Per callback route, with `callbackIngress: "httpApi"` only (a function URL has no route throttling).
   * @default { rateLimit: 1000, burstLimit: 2000 } (see ServiceApi)
   */
  readonly callbackThrottle?: ThrottleSettings;
  /**
   * Where providers deliver callbacks: a Lambda function URL on the recorder, or the HTTP API.
   * @default "functionUrl"
   */
  readonly callbackIngress?: CallbackIngress;
  /**
   * Concurrency reserved for the recorder, and its cap: with a function URL this is the callback throttle
   * (callbacks beyond it get 429). It is taken from the account's pool, which must keep 100 unreserved.
   * @default 50 with callbackIngress "functionUrl"; none with "httpApi" (the route throttle applies)
   */
  readonly recorderReservedConcurrency?: number;
  /**
   * Table billing: on-demand, or provisioned capacity with auto scaling (table and every index).
   * @default "onDemand"
   */
  readonly billing?: TableBilling;
  /**
   * Auto scaling bounds with `billing: "provisioned"`, applied to the table and to each index alike
   * (target utilization 70%).
   * @default { read: { min: 5, max: 200 }, write: { min: 5, max: 200 } }
   */
  readonly provisionedCapacity?: { readonly read?: CapacityRange; readonly write?: CapacityRange };
  /**
   * The listings kept (`-c listings=conversation,app|conversation|app|none`; see functions/core/listings.ts):
   * the table has the index of each (one write unit per recorded message each), and the functions get them
   * as LISTINGS and refuse what needs another (400 `listing_disabled`). `[]` keeps none: ids and whole
   * natural keys still work. Turning one on later: one per deploy, then `npm run reindex` for older messages.
   * @default ["conversation", "app"]
   */
  readonly listings?: readonly Listing[];
  /** @default RetentionDays.ONE_MONTH, for function and access logs */
  readonly logRetention?: RetentionDays;
  /**
   * Messages and their versions expire (DynamoDB TTL) this many days after they are written.
   * @default - kept forever
   */
  readonly retentionDays?: number;
  /**
   * Upper bound on concurrent worker invocations driven by the edit queue: a guard against a flood, not
   * the rate limit (the provider rate limiter, shared in DynamoDB, is). At most the worker's reserved
   * concurrency, so the event source never drives the worker into throttles (a throttled receive counts
   * towards the dead-letter queue's maxReceiveCount).
   * @default workerReservedConcurrency
   */
  readonly editQueueMaxConcurrency?: number;
  /**
   * Concurrency reserved for (and capping) the worker, the edit queue's consumer: bulk-job slices (each
   * holds one for up to JOB_SLICE_MS), after-send rules, EditRequested events and queued edits. Keep it
   * above the number of jobs meant to run at once, or the rest waits behind their slices. Taken from the
   * account's pool, which must keep 100 unreserved.
   * @default 10
   */
  readonly workerReservedConcurrency?: number;
  /**
   * The rules file (JSON, or YAML by extension; `-c rules=<path>`, or IM_EDIT_RULES at synth), relative
   * to the working directory. Validated at synth (a bad rule fails it, naming the rule, field and
   * reason) and bundled beside the recorder's, the editor's and the worker's code, with IM_EDIT_RULES
   * pointing at the copy: a rules change is a deploy.
   * @default - no rules
   */
  readonly rulesFile?: string;
  /**
   * The recorder's p99 duration alarm threshold. Tencent waits 2 s for a callback's answer.
   * @default 1500
   */
  readonly recorderP99AlarmMs?: number;
  /**
   * Domain events (`MessageRecorded`, `MessageEdited`, `EditFailed`), see `EventsMode`: `sqs` creates an
   * events queue the recorder, the editor and the worker publish to ($0.40 per million events);
   * `eventbridge` publishes to an EventBridge bus ($1.00 per million) and takes `EditRequested` events
   * from it into the edit queue.
   * @default "off"
   */
  readonly events?: EventsMode;
  /**
   * With `events: "eventbridge"`: an existing bus to use, by name (`default` for the account's default
   * bus); `-c eventBus=<name>`.
   * @default - a bus created by the stack
   */
  readonly eventBusName?: string;
  /**
   * X-Ray tracing of both functions. `active` samples invocations (X-Ray's default rule: the first
   * request each second, then 5 %): about $0.25 per million callbacks at sustained traffic, up to $5
   * when traffic is under a request a second, and the roles get the X-Ray write grant (Resource "*").
   * The code carries no X-Ray SDK, so a trace shows Lambda's own segments (init, invocation), which the
   * Duration metric and the log lines mostly tell already: off by default, for the editor too.
   * @default "off"
   */
  readonly tracing?: FunctionTracing;
  /**
   * The callback relay's before-send budget, ms (`-c forwardTimeoutMs`, CALLBACK_FORWARD_TIMEOUT_MS on the
   * recorder, 1-1800): how long a before-send waits for the app's own handler before the fallback applies.
   * Only with a provider's forward URL (e.g. `tencent.forwardUrl`).
   * @default - the recorder's own default (1200)
   */
  readonly forwardTimeoutMs?: number;
  /**
   * What a before-send gets when the app's handler does not answer in time, or answers something unusable
   * (`-c forwardFallback`, CALLBACK_FORWARD_FALLBACK): `allow`, `block` (code 1) or `block:<code>`. Only with
   * a forward URL.
   * @default - the recorder's own default (allow)
   */
  readonly forwardFallback?: CallbackForwardFallback;
  /**
   * One asynchronous forward delivery attempt, ms (FORWARD_TIMEOUT_MS on the forwarder, 1000-30000): the
   * forwarder's timeout is sized from it (a batch of 10, one after the other).
   * @default 5000
   */
  readonly forwardDeliveryTimeoutMs?: number;
  /**
   * Receives of a forward before it is dead-lettered with its last reason (FORWARD_QUEUE_MAX_RECEIVES, the
   * forward queue's maxReceiveCount, 1-1000).
   * @default 8
   */
  readonly forwardQueueMaxReceives?: number;
  /**
   * Concurrency reserved for (and capping) the forwarder, the forward queue's consumer
   * (`-c forwarderReservedConcurrency`, 2-1000); its event source never drives it further.
   * @default 5
   */
  readonly forwarderReservedConcurrency?: number;
  /**
   * The ForwardFallback alarm fires when more before-sends than this fell to the fallback policy in 5
   * minutes (a few are expected: an app deploy, a slow answer now and then).
   * @default 10
   */
  readonly forwardFallbackAlarmThreshold?: number;
  /**
   * The operator console in AWS (see `OperatorConsole`): its built files (`assetsPath`, console/build.ts's
   * output) in S3 behind CloudFront, operators in a Cognito user pool, an identity pool whose role may call
   * `/v1` only, the API's CORS for its origin. The CDK app builds it and sets this unless `-c console=off`;
   * `-c consoleDomainPrefix` names its sign-in domain.
   * @default - no console
   */
  readonly console?: ConsoleProps;
}

/** The console's props as the stack takes them (the log retention is the stack's). */
export type ConsoleProps = Omit<OperatorConsoleProps, "logRetention">;

/**
 * The relay's before-send fallback (CALLBACK_FORWARD_FALLBACK): allow the message, or block it with code 1
 * (`block`) or with the code given (`block:<code>`).
 */
export type CallbackForwardFallback = "allow" | "block" | `block:${number}`;
