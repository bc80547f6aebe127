import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/config.ts";
import { withSecrets } from "../../functions/secrets.ts";

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
