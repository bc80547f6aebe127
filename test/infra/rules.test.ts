import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { loadRulesFile } from "../../functions/rules-file.ts";
import { PropsError } from "../../infra/constructs/props.ts";
import { RulesBundle } from "../../infra/constructs/rules-bundle.ts";
import { ServiceFunction } from "../../infra/constructs/service-function.ts";
import { propsFromContext } from "../../infra/context.ts";
import { ImEditStack } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  contextOf,
  environmentOf,
  fixture,
  grantsOf,
  logicalId,
  PROPS,
  resolved,
  TENCENT_REQUIRED,
} from "./helpers.ts";

/** What `new ImEditStack` throws for these props (the synth's own failure), or undefined. */
function synthFailure(rulesFile: string): PropsError | undefined {
  try {
    new ImEditStack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test", { ...PROPS, rulesFile });
    return undefined;
  } catch (error: unknown) {
    if (error instanceof PropsError) return error;
    throw error;
  }
}

describe("rules delivery (-c rules=<path>): validated at synth, bundled beside the code", () => {
  // One synthesis with rules, shared by the tests that read it.
  const withRules = buildStack({ ...PROPS, rulesFile: fixture("rules.json") });

  it("a bad rule fails the synth, naming the file, the rule's id and index, the field and the reason", () => {
    // Act
    const failure = synthFailure(fixture("rules-bad.json"));

    // Assess
    expect(failure?.problems).toEqual([
      expect.stringMatching(
        /^rules: rules file .*rules-bad\.json: rule "unclosed-group" \(index 1\): action\.redact\.pattern: .*not valid/,
      ),
    ]);
    expect(failure?.message).toContain("unclosed-group");
  });

  it("a missing file fails the synth, naming it", () => {
    expect(synthFailure(fixture("no-such-rules.json"))?.problems).toEqual([
      expect.stringMatching(/^rules: rules file .*no-such-rules\.json: cannot be read/),
    ]);
  });

  it("recorder, editor and worker find the rules at /var/task/rules.json (IM_EDIT_RULES)", () => {
    const { stack, template } = withRules;
    for (const fn of [stack.recorder, stack.editor, stack.worker]) {
      expect(environmentOf(template, stack, fn).IM_EDIT_RULES).toBe("/var/task/rules.json");
    }
    template.hasOutput("Rules", { Value: Match.stringLikeRegexp("^2 rules, sha256 [0-9a-f]{12}$") });
  });

  it("after-send rules: the recorder may send to the edit queue (those rules' edits are queued there), nothing more", () => {
    // Prepare
    const { stack, template } = withRules;
    const queueArn = JSON.stringify(resolved(stack, stack.editQueue.queue.queueArn));

    // Act
    const onQueue = grantsOf(template, logicalId(stack.recorder.role)).filter((grant) =>
      grant.endsWith(queueArn),
    );

    // Assess
    expect(environmentOf(template, stack, stack.recorder).EDIT_QUEUE_URL).toEqual(
      resolved(stack, stack.editQueue.queue.queueUrl),
    );
    expect(onQueue).toEqual([`sqs:SendMessage ${queueArn}`]);
  });

  it("before-send rules only: the recorder answers the callback itself and gets no edit queue", () => {
    const { stack, template } = buildStack({ ...PROPS, rulesFile: fixture("rules-before-send.json") });
    expect(environmentOf(template, stack, stack.recorder)).toMatchObject({
      IM_EDIT_RULES: "/var/task/rules.json",
    });
    expect(environmentOf(template, stack, stack.recorder)).not.toHaveProperty("EDIT_QUEUE_URL");
  });

  it("without a rules file no function gets IM_EDIT_RULES", () => {
    const { stack, template } = buildStack(PROPS);
    for (const fn of [stack.recorder, stack.editor, stack.worker]) {
      expect(environmentOf(template, stack, fn)).not.toHaveProperty("IM_EDIT_RULES");
    }
    expect(template.findOutputs("Rules")).toEqual({});
  });

  it("a YAML file is converted at synth: every function gets /var/task/rules.json (a Lambda never parses YAML)", () => {
    // Act
    const { stack, template } = buildStack({ ...PROPS, rulesFile: fixture("rules.yaml") });
    const bundle = RulesBundle.load(fixture("rules.yaml"));

    // Assess
    for (const fn of [stack.recorder, stack.editor, stack.worker]) {
      expect(environmentOf(template, stack, fn).IM_EDIT_RULES).toBe("/var/task/rules.json");
    }
    template.hasOutput("Rules", { Value: Match.stringLikeRegexp("^1 rules, sha256 [0-9a-f]{12}$") });
    expect(bundle instanceof RulesBundle && [bundle.fileName, bundle.ruleCount]).toEqual(["rules.json", 1]);
  });

  it("a YAML value JSON cannot carry (.inf) fails the synth instead of shipping another rule", () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), "im-edit-rules-yaml-"));
    const file = join(dir, "rules.yml");
    writeFileSync(
      file,
      "rules:\n  - id: mark\n    match: { provider: tencent }\n    action:\n      mergeCustomData: { score: .inf }\n",
    );

    // Act
    const loaded = RulesBundle.load(file);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(loaded instanceof RulesBundle ? "loaded" : loaded.problem).toMatch(/JSON cannot carry/);
  });

  it("comes from -c rules, else from IM_EDIT_RULES in the synth's environment", () => {
    const rulesOf = (values: Record<string, unknown>, env: Record<string, string>) => {
      const result = propsFromContext(contextOf({ ...TENCENT_REQUIRED, ...values }), undefined, env);
      return result.ok ? result.props.rulesFile : result.message;
    };
    expect(rulesOf({ rules: "a.json" }, { IM_EDIT_RULES: "b.json" })).toBe("a.json");
    expect(rulesOf({}, { IM_EDIT_RULES: "b.json" })).toBe("b.json");
    expect(rulesOf({}, { IM_EDIT_RULES: "" })).toBeUndefined();
    expect(rulesOf({}, {})).toBeUndefined();
  });
});

describe("the bundled rules file", () => {
  // Real bundling of a tiny handler (the bench's floor fixture), so the asset is what a deploy uploads.
  const outdir = mkdtempSync(join(tmpdir(), "im-edit-rules-test-"));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** Bundles the fixture handler with `rulesFile` shipped beside it: its asset directory (named by its hash). */
  function bundleWith(rulesFile: string): string {
    const app = new App({
      outdir: mkdtempSync(join(outdir, "app-")),
      context: { "aws:cdk:enable-asset-metadata": true },
    });
    const stack = new Stack(app, "Rules");
    const bundle = RulesBundle.load(rulesFile);
    if (!(bundle instanceof RulesBundle)) throw new Error(bundle.problem);
    const fn = new ServiceFunction(stack, "Fn", {
      entry: "test/infra/fixtures/empty-handler.ts",
      files: [bundle.stage(app.assetOutdir)],
    });
    const path = (fn.function.node.defaultChild as CfnResource).getMetadata("aws:asset:path");
    if (typeof path !== "string") throw new Error("no asset recorded");
    return join(app.assetOutdir, path);
  }

  it("is in the asset beside index.mjs, byte for byte, and its content (only) changes the asset's hash", () => {
    // Prepare: the same rules less one, under the same name.
    const original = readFileSync(fixture("rules.json"), "utf8");
    const fewer = join(mkdtempSync(join(outdir, "edited-")), "rules.json");
    const parsed = JSON.parse(original) as { rules: unknown[] };
    writeFileSync(fewer, JSON.stringify({ rules: parsed.rules.slice(0, 1) }));

    // Act
    const first = bundleWith(fixture("rules.json"));
    const edited = bundleWith(fewer);

    // Assess
    expect(readFileSync(join(first, "rules.json"), "utf8")).toBe(original);
    expect(existsSync(join(first, "index.mjs"))).toBe(true);
    expect(readFileSync(join(edited, "rules.json"), "utf8")).toBe(readFileSync(fewer, "utf8"));
    expect(basename(edited)).not.toBe(basename(first));
  });

  it("a YAML file is in the asset as rules.json, its document as JSON, which the functions' loader reads", () => {
    // Act
    const asset = bundleWith(fixture("rules.yaml"));

    // Assess
    expect(existsSync(join(asset, "rules.yaml"))).toBe(false);
    expect(JSON.parse(readFileSync(join(asset, "rules.json"), "utf8"))).toEqual({
      rules: [
        {
          id: "replace-banned",
          match: { provider: "tencent" },
          action: { replace: { pattern: "(?i)banned", with: "b*****" } },
        },
      ],
    });
    expect(loadRulesFile(join(asset, "rules.json")).rules.map((rule) => rule.id)).toEqual(["replace-banned"]);
  });
});
