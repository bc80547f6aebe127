import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import type { ProviderManifest } from "../../functions/providers/manifest.ts";
import { PROVIDERS } from "../../functions/providers/recorder-providers.ts";
import { tencent } from "../../functions/providers/tencent/manifest.ts";
import { PropsError } from "../../infra/constructs/props.ts";
import { contextKeys, propsFromContext } from "../../infra/context.ts";
import { ImEditStack, type ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";
import { createFakeProvider } from "../helpers/fake-provider/manifest.ts";
import { contextOf, resolved, secretArn, TENCENT_REQUIRED } from "./helpers.ts";

/**
 * The providers' `-c` keys, their stack props, their value checks and what the functions get all come from
 * the manifests' CDK bindings: a manifest with one more binding, or one more manifest, brings its own.
 */

function build(props: ImEditStackProps): { stack: ImEditStack; template: Template } {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new ImEditStack(app, "Test", props);
  return { stack, template: Template.fromStack(stack) };
}

function problemsOf(props: ImEditStackProps): readonly string[] {
  try {
    build(props);
    return [];
  } catch (error: unknown) {
    if (error instanceof PropsError) return error.problems;
    throw error;
  }
}

const variablesOf = (template: Template, stack: ImEditStack, role: "recorder" | "editor") => {
  const fn = stack[role];
  const [found] = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Role: resolved(stack, fn.role.roleArn) },
    }),
  );
  return (found?.Properties.Environment.Variables ?? {}) as Record<string, unknown>;
};

describe("a manifest with an extra binding", () => {
  // Tencent with one more setting, for the editor only, with a default.
  const extended = {
    ...tencent,
    cdk: {
      ...tencent.cdk,
      context: [
        ...tencent.cdk.context,
        {
          key: "tencentEditTimeoutMs",
          prop: "editTimeoutMs",
          description: "how long the editor waits for Tencent (default 3000)",
          env: { variable: "TENCENT_EDIT_TIMEOUT_MS", functions: ["editor"], default: "3000" },
        },
      ],
    },
  } as ProviderManifest;
  const manifests = [extended, ...PROVIDERS.filter((manifest) => manifest.name !== "tencent")];

  it("lists its -c key and maps it onto the provider's props", () => {
    expect(contextKeys(manifests)).toMatchObject({
      tencentEditTimeoutMs: "how long the editor waits for Tencent (default 3000)",
    });
    const tencentKeys = tencent.cdk.context.length;
    expect(Object.keys(contextKeys(manifests))).toEqual([
      ...Object.keys(contextKeys()).slice(0, tencentKeys),
      "tencentEditTimeoutMs",
      ...Object.keys(contextKeys()).slice(tencentKeys),
    ]);
    const result = propsFromContext(
      contextOf({ ...TENCENT_REQUIRED, tencentEditTimeoutMs: "5000" }),
      manifests,
    );
    expect(result.ok && result.props.tencent).toEqual({ ...TENCENT_REQUIRED, editTimeoutMs: "5000" });
  });

  it("its variable reaches the functions its binding names, the default when the prop is absent", () => {
    const given = build({
      tencent: { ...TENCENT_REQUIRED, editTimeoutMs: "5000" },
      manifests,
    } as ImEditStackProps);
    expect(variablesOf(given.template, given.stack, "editor")).toMatchObject({
      TENCENT_EDIT_TIMEOUT_MS: "5000",
    });
    expect(variablesOf(given.template, given.stack, "recorder")).not.toHaveProperty(
      "TENCENT_EDIT_TIMEOUT_MS",
    );
    const defaulted = build({ tencent: TENCENT_REQUIRED, manifests });
    expect(variablesOf(defaulted.template, defaulted.stack, "editor")).toMatchObject({
      TENCENT_EDIT_TIMEOUT_MS: "3000",
    });
    // Without it, nothing of the kind: the registered manifests have no such binding.
    const plain = build({ tencent: TENCENT_REQUIRED });
    expect(variablesOf(plain.template, plain.stack, "editor")).not.toHaveProperty("TENCENT_EDIT_TIMEOUT_MS");
  });
});

describe("one more provider (the test-only fake)", () => {
  const { manifest: fake } = createFakeProvider();
  const manifests = [...PROVIDERS, fake];
  const fakeSecret = secretArn("fake-secret");

  it("its keys are listed; all its required keys or none", () => {
    expect(Object.keys(contextKeys(manifests))).toEqual(
      expect.arrayContaining(["fakeAppId", "fakeSecretArn"]),
    );
    const none = propsFromContext(contextOf(TENCENT_REQUIRED), manifests);
    expect(none.ok && "fake" in none.props).toBe(false);
    const partial = propsFromContext(contextOf({ ...TENCENT_REQUIRED, fakeAppId: "app-1" }), manifests);
    expect(partial.ok).toBe(false);
    expect(!partial.ok && partial.message).toContain("-c fakeSecretArn=...");
    expect(!partial.ok && partial.message).toMatch(/fakeAppId\s+the fake provider's app id/);
  });

  it("its props come from its -c keys, its checks from its manifest", () => {
    const result = propsFromContext(
      contextOf({ ...TENCENT_REQUIRED, fakeAppId: "app-1", fakeSecretArn: fakeSecret }),
      manifests,
    );
    expect(result.ok && (result.props as unknown as Record<string, unknown>).fake).toEqual({
      appId: "app-1",
      secretArn: fakeSecret,
    });
    expect(
      problemsOf({
        tencent: TENCENT_REQUIRED,
        manifests,
        fake: { appId: "x".repeat(65), secretArn: "arn:nope" },
      } as never),
    ).toEqual([
      expect.stringMatching(/^fake\.appId: "x+" is refused as FAKE_APP_ID: /),
      expect.stringMatching(/^fake\.secretArn: "arn:nope" is not a complete Secrets Manager secret ARN/),
    ]);
  });

  it("deploys its variables, its secret where its work is done, and its callback URL output", () => {
    const { stack, template } = build({
      tencent: TENCENT_REQUIRED,
      manifests,
      fake: { appId: "app-1", secretArn: fakeSecret },
    } as never);
    for (const role of ["recorder", "editor"] as const) {
      expect(variablesOf(template, stack, role)).toMatchObject({
        FAKE_APP_ID: "app-1",
        FAKE_SECRET_SECRET_ARN: fakeSecret,
      });
    }
    template.hasOutput("FakeCallbackUrl", {
      Description: "the fake provider's callback URL",
      Value: Match.objectLike({}),
    });
  });
});
