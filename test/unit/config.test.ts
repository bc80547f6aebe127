import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../functions/config.ts";

const BASE = { TABLE_NAME: "t", TENCENT_SDKAPPID: "1400000000" } as const;
const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/${name}-AbCdEf`;
/** What a Lambda sees (set by the runtime); with it, im-edit is "in AWS". */
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Recorder" } as const;

const problemsOf = (env: Record<string, string | undefined>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("loadConfig: local secrets", () => {
  it.each([
    ["TENCENT_CALLBACK_TOKEN", {}],
    ["TENCENT_SECRET_KEY", {}],
    ["NETEASE_APP_SECRET", { NETEASE_APP_KEY: "appkey" }],
  ])("a whitespace-only %s fails at start, naming the variable", (variable, extra) => {
    // Prepare
    const env = { ...BASE, ...extra, [variable]: " \t\n " };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${variable}: .*whitespace`))]);
  });

  it("an empty value is unset, as a shell `FOO= npm start` means (the token: accepted with a warning)", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "",
      TENCENT_SECRET_KEY: "",
      NETEASE_APP_SECRET: "",
    });
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.tencent?.edit).toBeUndefined();
    expect(config.netease).toBeUndefined();
    expect(config.unusableSecrets).toEqual([]);
  });

  it("a real value is used as it is", () => {
    const config = loadConfig({ ...BASE, TENCENT_CALLBACK_TOKEN: "tok", TENCENT_SECRET_KEY: "key" });
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.tencent?.edit?.secretKey).toBe("key");
    expect(config.unusableSecrets).toEqual([]);
  });
});

describe("loadConfig: fail closed on secrets from Secrets Manager or in AWS", () => {
  it("a callback token whose secret resolved empty is unusable: never a token-less (unsigned) config", () => {
    // Prepare: withSecrets has replaced the ARN by the secret's (trimmed) value, here empty.
    const env = {
      ...BASE,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token"),
      TENCENT_CALLBACK_TOKEN: "",
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.unusableSecrets).toEqual([
      {
        variable: "TENCENT_CALLBACK_TOKEN",
        provider: "tencent",
        appId: "1400000000",
        refuses: ["callbacks"],
        reason: "blank",
      },
    ]);
  });

  it("the same for a secret whose value never arrived (the ARN set, the value absent)", () => {
    const config = loadConfig({ ...BASE, TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token") });
    expect(config.unusableSecrets).toMatchObject([{ variable: "TENCENT_CALLBACK_TOKEN", reason: "blank" }]);
  });

  it("a blank NetEase AppSecret refuses NetEase callbacks and edits, and leaves Tencent working", () => {
    // Act
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "tok",
      NETEASE_APP_KEY: "appkey",
      NETEASE_APP_SECRET_SECRET_ARN: ARN("netease"),
      NETEASE_APP_SECRET: "",
    });

    // Assess: no NetEase config carries an empty secret; Tencent is untouched.
    expect(config.netease).toBeUndefined();
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.unusableSecrets).toEqual([
      {
        variable: "NETEASE_APP_SECRET",
        provider: "netease",
        appId: "appkey",
        refuses: ["callbacks", "edits"],
        reason: "blank",
      },
    ]);
  });

  it("a blank Tencent secret key refuses Tencent edits: editing is never configured with an empty key", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_SECRET_KEY_SECRET_ARN: ARN("key"),
      TENCENT_SECRET_KEY: "",
    });
    expect(config.tencent?.edit).toBeUndefined();
    expect(config.unusableSecrets).toMatchObject([
      { variable: "TENCENT_SECRET_KEY", provider: "tencent", refuses: ["edits"], reason: "blank" },
    ]);
  });

  it("in AWS a whitespace-only plain value is unusable too (no crash at cold start, no unsigned run)", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA, TENCENT_CALLBACK_TOKEN: "   " });
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.unusableSecrets).toMatchObject([{ variable: "TENCENT_CALLBACK_TOKEN", reason: "blank" }]);
  });

  it("in AWS the callback token is mandatory: without one, Tencent callbacks are refused", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA });
    expect(config.unusableSecrets).toMatchObject([
      { variable: "TENCENT_CALLBACK_TOKEN", refuses: ["callbacks"], reason: "missing" },
    ]);
  });

  it("in AWS a NetEase AppKey without its secret refuses NetEase only, instead of failing the whole function", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA, TENCENT_CALLBACK_TOKEN: "tok", NETEASE_APP_KEY: "k" });
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.unusableSecrets).toMatchObject([
      { variable: "NETEASE_APP_SECRET", provider: "netease", reason: "missing" },
    ]);
  });

  it("locally a NetEase AppKey without its secret still fails at start", () => {
    expect(problemsOf({ ...BASE, NETEASE_APP_KEY: "k" })).toEqual([
      expect.stringMatching(/^NETEASE_APP_SECRET: required/),
    ]);
  });

  it("describeConfig says which secret is unusable, never a value", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token"),
      TENCENT_CALLBACK_TOKEN: "",
      TENCENT_SECRET_KEY: "do-not-print",
    });
    const described = JSON.stringify(describeConfig(config));
    expect(described).toContain("TENCENT_CALLBACK_TOKEN");
    expect(described).toMatch(/unusable/i);
    expect(described).not.toContain("do-not-print");
  });
});
