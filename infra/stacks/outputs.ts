import { CfnOutput } from "aws-cdk-lib";
import type { RulesBundle } from "../constructs/rules-bundle.ts";
import type { ImEditStack } from "./im-edit-stack.ts";
import type { DeployedProvider } from "./provider-bindings.ts";

/** What the outputs name beyond the stack's own parts. */
export interface OutputSources {
  readonly providers: readonly DeployedProvider[];
  /** The rules deployed, when a rules file is given. */
  readonly rules?: RulesBundle | undefined;
}

/**
 * The stack's outputs: where callers and providers send requests, the functions and queues an operator
 * needs by name (redrive commands included), the rules deployed, the console, the table and the alarms.
 */
export function addOutputs(stack: ImEditStack, { providers, rules }: OutputSources): void {
  // The function URL ends in "/"; the HTTP API endpoint does not.
  const callbackBase = stack.callbackUrl ? stack.callbackUrl.url : `${stack.api.api.apiEndpoint}/`;

  const output = (name: string, value: string, description: string) =>
    new CfnOutput(stack, name, { value, description });
  output("ApiUrl", stack.api.api.apiEndpoint, "HTTP API base URL (/v1)");
  for (const { manifest } of providers) {
    const { id: outputId, description } = manifest.cdk.callbackOutput;
    output(outputId, `${callbackBase}callbacks/${manifest.name}`, description);
  }
  output(
    "ApiInvokeArn",
    stack.api.api.arnForExecuteApi("*", "/v1/*", "$default"),
    "execute-api:Invoke resource for /v1 callers' IAM policies",
  );
  output(
    "EditorFunctionName",
    stack.editor.function.functionName,
    "for direct invokes (lambda:InvokeFunction)",
  );
  output("WorkerFunctionName", stack.worker.function.functionName, "the job runner (edit queue consumer)");
  output("EditQueueUrl", stack.editQueue.queue.queueUrl, "queued edits, job slices; EditRequested payloads");
  output(
    "EditQueueRedrive",
    stack.editQueue.redriveCommand,
    "after fixing the cause: moves the edit queue's dead letters back to it",
  );
  output(
    "FallbackQueueRedrive",
    stack.fallbackQueue.redriveCommand,
    "after fixing the cause: moves the fallback queue's dead letters back to it",
  );
  if (stack.relay) {
    const { queue } = stack.relay;
    output("ForwardQueueUrl", queue.queue.queueUrl, "the callback relay's forwards to the app's own handler");
    output(
      "ForwardDlqUrl",
      queue.deadLetterQueue.queueUrl,
      "forwards the app's handler did not take, with the reason",
    );
    output(
      "ForwardQueueRedrive",
      queue.redriveCommand,
      "after fixing the cause: moves the dead-lettered forwards back to the forward queue",
    );
  }
  if (stack.eventsQueue) output("EventsQueueUrl", stack.eventsQueue.queue.queueUrl, "domain events");
  if (stack.eventBus) {
    output("EventBusName", stack.eventBus.bus.eventBusName, "domain events out, EditRequested in");
  }
  if (rules) {
    output(
      "Rules",
      `${rules.ruleCount} rules, sha256 ${rules.sha256.slice(0, 12)}`,
      `the rules deployed (${rules.deployedPath})`,
    );
  }
  if (stack.console) {
    output("ConsoleUrl", stack.console.url, "the operator console (sign in as an operator of the user pool)");
    output("ConsoleUserPoolId", stack.console.userPool.userPoolId, "the console's operators (retained)");
    output(
      "ConsoleIdentityPoolId",
      stack.console.identityPool.ref,
      "gives signed-in operators execute-api:Invoke on /v1/* for an hour",
    );
    output(
      "ConsoleCreateOperator",
      stack.console.createOperatorCommand,
      "creates an operator: Cognito emails a temporary password; MFA (an authenticator app) is set up at first sign-in",
    );
  }
  output("TableName", stack.table.table.tableName, "message table (retained on stack deletion)");
  output("AlarmTopicArn", stack.alarms.topic.topicArn, "subscribe to receive alarms");
}
