import { describe, expect, it } from "vitest";
import { parseOperation } from "../../functions/api/operations.ts";
import { JOB_SWEEP_INPUT } from "../../infra/constructs/job-sweep.ts";
import { buildStack, FULL_PROPS, PROPS } from "./helpers.ts";

/**
 * The job sweep: a scheduled rule invoking the editor every minute with `{ "action": "sweepJobs" }`, so a
 * bulk job whose slice crashed goes on within about a minute; only that rule may invoke, only the editor.
 */
describe("job sweep schedule", () => {
  it.each([
    ["minimal", PROPS],
    ["every option", FULL_PROPS],
  ])("%s: every minute, the editor, sweepJobs, two retries within a minute", (_, props) => {
    // Act
    const { stack, template } = buildStack(props);

    // Assess: one scheduled rule with one target, the editor, and the operation as its input
    const rules = Object.entries(template.findResources("AWS::Events::Rule")).filter(
      ([, rule]) => rule.Properties.ScheduleExpression !== undefined,
    );
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0] ?? [];
    expect(ruleId).toBe(stack.getLogicalId(stack.jobSweep.rule.node.defaultChild as never));
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: "rate(1 minute)", State: "ENABLED" });
    expect(rule?.Properties.EventBusName).toBeUndefined();
    const targets = rule?.Properties.Targets as Record<string, unknown>[];
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: stack.resolve(stack.editor.function.functionArn),
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
    });
    // No role: the function's resource policy is the only grant.
    expect(targets[0]).not.toHaveProperty("RoleArn");
    const input: unknown = JSON.parse(String(targets[0]?.Input));
    expect(input).toEqual({ action: "sweepJobs" });
    expect(input).toEqual(JOB_SWEEP_INPUT);
    expect(parseOperation(input)).toEqual({ action: "sweepJobs" });
  });

  it("least privilege: EventBridge may invoke the editor from this rule only, and no other function", () => {
    // Act
    const { stack, template } = buildStack(PROPS);

    // Assess
    const fromEvents = Object.values(template.findResources("AWS::Lambda::Permission")).filter(
      (permission) => permission.Properties.Principal === "events.amazonaws.com",
    );
    expect(fromEvents.map((permission) => permission.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: stack.resolve(stack.editor.function.functionArn),
        Principal: "events.amazonaws.com",
        SourceArn: stack.resolve(stack.jobSweep.rule.ruleArn),
      },
    ]);
  });
});
