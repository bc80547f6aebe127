import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../functions/config.ts";
import { secretsManagerReader, withSecrets } from "../../functions/secrets.ts";

describe("withSecrets", () => {
  const read = async (arn: string) => {
    if (arn.endsWith(":missing"))
      throw Object.assign(new Error("nope"), { name: "ResourceNotFoundException" });
    return `value-of-${arn}`;
  };

  it("replaces <NAME>_SECRET_ARN by <NAME> read from Secrets Manager", async () => {
    const env = await withSecrets({ TENCENT_SECRET_KEY_SECRET_ARN: "arn:key", TABLE_NAME: "t" }, read);
    expect(env).toMatchObject({ TENCENT_SECRET_KEY: "value-of-arn:key", TABLE_NAME: "t" });
  });

  it("reports every unreadable or ambiguous secret, naming the variable and not the value", async () => {
    const error = await withSecrets(
      {
        TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:missing",
        TENCENT_SECRET_KEY: "plain",
        TENCENT_SECRET_KEY_SECRET_ARN: "arn:k",
      },
      read,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^TENCENT_CALLBACK_TOKEN_SECRET_ARN: .*ResourceNotFoundException/),
        expect.stringMatching(/^TENCENT_SECRET_KEY: set either/),
      ]),
    );
    expect(String(error)).not.toContain("plain");
  });

  it("leaves an environment without secret ARNs as it is", async () => {
    expect(await withSecrets({ TENCENT_CALLBACK_TOKEN: "local" }, read)).toEqual({
      TENCENT_CALLBACK_TOKEN: "local",
    });
  });
});

describe("secretsManagerReader", () => {
  const secretsManager = mockClient(SecretsManagerClient);
  afterEach(() => {
    secretsManager.reset();
  });

  it("trims the surrounding whitespace a secret saved from a file carries (a trailing newline)", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "token\n" });
    expect(await secretsManagerReader("local")("arn:t")).toBe("token");
  });

  it.each([
    ["whitespace only", { SecretString: " \n\t " }],
    ["empty", { SecretString: "" }],
    ["binary (no string value)", { SecretBinary: new Uint8Array([1]) }],
  ])("a secret that is %s reads as empty, for the config to refuse that provider", async (_, reply) => {
    secretsManager.on(GetSecretValueCommand).resolves(reply);
    expect(await secretsManagerReader("local")("arn:t")).toBe("");
  });

  it("an empty callback-token secret never yields a token-less config (which would accept unsigned callbacks)", async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "  \n" });
    const env = {
      TABLE_NAME: "t",
      TENCENT_SDKAPPID: "1400000000",
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:t",
    };

    // Act
    const config = loadConfig(await withSecrets(env, secretsManagerReader("local")));

    // Assess
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.unusableSecrets).toMatchObject([
      { variable: "TENCENT_CALLBACK_TOKEN", refuses: ["callbacks"] },
    ]);
  });
});
