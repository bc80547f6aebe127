import { Stack } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { PROVIDERS } from "../../functions/providers/recorder-providers.ts";
import { FORWARD_FALLBACK_PATTERN, MAX_CALLBACK_FORWARD_TIMEOUT_MS } from "../../functions/relay-config.ts";
import { AlarmTopic } from "../constructs/alarm-topic.ts";
import { DomainEventBus } from "../constructs/event-bus.ts";
import { EventsQueue } from "../constructs/events-queue.ts";
import { ForwardRelay } from "../constructs/forward-relay.ts";
import { MessageTable, type ProvisionedCapacity } from "../constructs/message-table.ts";
import { OperatorConsole } from "../constructs/operator-console.ts";
import { isIntegerIn, known, Problems } from "../constructs/props.ts";
import { RulesBundle } from "../constructs/rules-bundle.ts";
import { ServiceApi } from "../constructs/service-api.ts";
import { FUNCTION_TRACINGS } from "../constructs/service-function.ts";
import { CALLBACK_INGRESSES, DEFAULTS, type ImEditStackProps, TABLE_BILLINGS } from "./props.ts";
import { forwardingProviders, forwardUrlBinding, providerProblems } from "./providers.ts";

/** What validating the props read from elsewhere, for the stack to use. */
export interface Validated {
  /** The rules file, read and valid, when one is given. */
  readonly rules?: RulesBundle;
}

/** Every problem with the props at once, before anything is built. */
export function validate(scope: Construct, props: ImEditStackProps): Validated {
  const problems = new Problems(`ImEditStack ${scope.node.path}`);
  // Each provider's props, as its manifest's CDK bindings declare them.
  problems.add(providerProblems(props.manifests ?? PROVIDERS, props));
  if (props.tableEncryptionKeyArn !== undefined) {
    const keyArn = props.tableEncryptionKeyArn;
    const stackRegion = Stack.of(scope).region;
    const validArn =
      !known(keyArn) ||
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/.test(keyArn);
    const keyRegion = keyArn.split(":")[3];
    problems
      .check(
        validArn,
        `tableEncryptionKeyArn: ${JSON.stringify(keyArn)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
      )
      .check(
        known(stackRegion),
        "tableEncryptionKeyArn: a customer-managed table key needs a region-specific stack (env.region)",
      )
      .check(
        !validArn || !known(stackRegion) || !known(keyArn) || keyRegion === stackRegion,
        `tableEncryptionKeyArn: the key is in ${keyRegion}, the stack in ${stackRegion}; DynamoDB needs the key in the table's region`,
      );
  }
  if (props.retentionDays !== undefined) {
    problems.check(
      isIntegerIn(props.retentionDays, 1, 36_500),
      `retentionDays: ${props.retentionDays} is not an integer in 1-36500`,
    );
  }
  if (props.editQueueMaxConcurrency !== undefined) {
    problems.check(
      isIntegerIn(props.editQueueMaxConcurrency, 2, 1000),
      `editQueueMaxConcurrency: ${props.editQueueMaxConcurrency} is not an integer in 2-1000 (SQS event source limits)`,
    );
  }
  // The event source's guard must fit the worker's reservation (2 at least, the guard's own minimum).
  const workerReserved = props.workerReservedConcurrency ?? DEFAULTS.workerReservedConcurrency;
  if (props.workerReservedConcurrency !== undefined) {
    problems.check(
      isIntegerIn(props.workerReservedConcurrency, 2, 1000),
      `workerReservedConcurrency: ${props.workerReservedConcurrency} is not an integer in 2-1000`,
    );
  }
  problems.check(
    props.editQueueMaxConcurrency === undefined ||
      !known(props.editQueueMaxConcurrency) ||
      !known(workerReserved) ||
      props.editQueueMaxConcurrency <= workerReserved,
    `editQueueMaxConcurrency: ${props.editQueueMaxConcurrency} is above workerReservedConcurrency (${workerReserved}); the edit queue would drive the worker into throttles`,
  );
  if (props.recorderP99AlarmMs !== undefined) {
    problems.check(
      isIntegerIn(props.recorderP99AlarmMs, 1, 2000),
      `recorderP99AlarmMs: ${props.recorderP99AlarmMs} is not in 1-2000 (Tencent's budget is 2000 ms)`,
    );
  }
  const ingress = props.callbackIngress ?? DEFAULTS.callbackIngress;
  problems
    .check(
      CALLBACK_INGRESSES.includes(ingress),
      `callbackIngress: ${JSON.stringify(ingress)} is not one of ${CALLBACK_INGRESSES.join(", ")}`,
    )
    .check(
      props.callbackThrottle === undefined || ingress === "httpApi",
      `callbackThrottle: applies to callbackIngress "httpApi" only; with ${JSON.stringify(ingress)} use recorderReservedConcurrency`,
    );
  if (props.recorderReservedConcurrency !== undefined) {
    problems.check(
      isIntegerIn(props.recorderReservedConcurrency, 1, 1000),
      `recorderReservedConcurrency: ${props.recorderReservedConcurrency} is not an integer in 1-1000`,
    );
  }
  problems.check(
    props.tracing === undefined || FUNCTION_TRACINGS.includes(props.tracing),
    `tracing: ${JSON.stringify(props.tracing)} is not one of ${FUNCTION_TRACINGS.join(", ")}`,
  );
  const billing = props.billing ?? DEFAULTS.billing;
  problems
    .check(
      TABLE_BILLINGS.includes(billing),
      `billing: ${JSON.stringify(billing)} is not one of ${TABLE_BILLINGS.join(", ")}`,
    )
    .check(
      props.provisionedCapacity === undefined || billing === "provisioned",
      `provisionedCapacity: applies to billing "provisioned" only, not ${JSON.stringify(billing)}`,
    );
  problems
    .add(MessageTable.problems({ provisioned: provisionedCapacity(props), listings: props.listings }))
    .add(ServiceApi.problems({ apiThrottle: props.apiThrottle, callbackThrottle: props.callbackThrottle }))
    .add(AlarmTopic.problems({ email: props.alarmEmail }))
    .add(EventsQueue.problems(props.events))
    .check(
      props.eventBusName === undefined || props.events === "eventbridge",
      `eventBusName: applies to events "eventbridge" only, not ${JSON.stringify(props.events ?? DEFAULTS.events)}`,
    )
    .add(DomainEventBus.problems(props.eventBusName));
  problems.add(relayProblems(props));
  if (props.console) {
    problems.add(OperatorConsole.problems({ ...props.console, stackName: Stack.of(scope).stackName }));
  }
  const rules = props.rulesFile === undefined ? undefined : RulesBundle.load(props.rulesFile);
  if (rules !== undefined && !(rules instanceof RulesBundle)) problems.add([rules.problem]);
  problems.throwIfAny();
  return rules instanceof RulesBundle ? { rules } : {};
}

/** The relay's settings: each applies only with a provider's forward URL, and each value in its range. */
function relayProblems(props: ImEditStackProps): readonly string[] {
  const manifests = props.manifests ?? PROVIDERS;
  const problems = new Problems("relay");
  if (forwardingProviders(manifests, props).length === 0) {
    const keys = manifests.flatMap((manifest) => forwardUrlBinding(manifest)?.key ?? []);
    const settings = {
      forwardTimeoutMs: props.forwardTimeoutMs,
      forwardFallback: props.forwardFallback,
      forwardDeliveryTimeoutMs: props.forwardDeliveryTimeoutMs,
      forwardQueueMaxReceives: props.forwardQueueMaxReceives,
      forwarderReservedConcurrency: props.forwarderReservedConcurrency,
      forwardFallbackAlarmThreshold: props.forwardFallbackAlarmThreshold,
    };
    for (const [name, value] of Object.entries(settings)) {
      problems.check(
        value === undefined,
        `${name}: applies to the callback relay only, with a forward URL (${keys.map((key) => `-c ${key}`).join(" or ")})`,
      );
    }
    return problems.list;
  }
  const { forwardTimeoutMs, forwardFallback, forwardFallbackAlarmThreshold } = props;
  return problems
    .check(
      forwardTimeoutMs === undefined || isIntegerIn(forwardTimeoutMs, 1, MAX_CALLBACK_FORWARD_TIMEOUT_MS),
      `forwardTimeoutMs: ${forwardTimeoutMs} is not an integer in 1-${MAX_CALLBACK_FORWARD_TIMEOUT_MS} (the before-send ` +
        "budget; the store needs the rest of Tencent's 2 s)",
    )
    .check(
      forwardFallback === undefined ||
        !known(forwardFallback) ||
        FORWARD_FALLBACK_PATTERN.test(forwardFallback),
      `forwardFallback: ${JSON.stringify(forwardFallback)} is not allow, block or block:<code> (a positive integer)`,
    )
    .check(
      forwardFallbackAlarmThreshold === undefined || isIntegerIn(forwardFallbackAlarmThreshold, 0, 1_000_000),
      `forwardFallbackAlarmThreshold: ${forwardFallbackAlarmThreshold} is not an integer in 0-1000000`,
    )
    .add(
      ForwardRelay.problems({
        deliveryTimeoutMs: props.forwardDeliveryTimeoutMs,
        maxReceives: props.forwardQueueMaxReceives,
        reservedConcurrency: props.forwarderReservedConcurrency,
      }),
    ).list;
}

/** The table's auto scaling bounds, defaults filled in; undefined for on-demand billing. */
export function provisionedCapacity(props: ImEditStackProps): ProvisionedCapacity | undefined {
  if (props.billing !== "provisioned") return undefined;
  const { read, write } = DEFAULTS.provisionedCapacity;
  return {
    read: props.provisionedCapacity?.read ?? read,
    write: props.provisionedCapacity?.write ?? write,
  };
}
