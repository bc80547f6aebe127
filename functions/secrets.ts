import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigError } from "./config.ts";
import type { ProviderManifest } from "./providers/manifest.ts";
import { PROVIDERS } from "./providers/recorder-providers.ts";
import { type SecretName, secretsOf } from "./secret-checks.ts";

/**
 * Secrets come from Secrets Manager in AWS: `<NAME>_SECRET_ARN` is read once per cold start and its
 * value takes the place of `<NAME>`. Locally the plain variables are used. Values never reach a log.
 * A secret that reads empty stays empty here: `loadConfig` then refuses what it guards (fail closed).
 * The names are the registered providers' manifests' secrets.
 */
export const SECRET_VARIABLES: readonly SecretName[] = [...secretsOf(PROVIDERS).keys()];

export type SecretReader = (arn: string) => Promise<string>;

export async function withSecrets(
  env: Readonly<Record<string, string | undefined>>,
  read: SecretReader,
  manifests: readonly ProviderManifest[] = PROVIDERS,
): Promise<Record<string, string | undefined>> {
  const resolved: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  await Promise.all(
    [...secretsOf(manifests).keys()].map(async (name) => {
      const arn = env[`${name}_SECRET_ARN`];
      if (!arn) return;
      if (env[name]) {
        problems.push(`${name}: set either ${name} or ${name}_SECRET_ARN, not both`);
        return;
      }
      try {
        resolved[name] = await read(arn);
      } catch (error: unknown) {
        problems.push(
          `${name}_SECRET_ARN: cannot read the secret (${error instanceof Error ? error.name : "error"})`,
        );
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

/**
 * Reads a secret's string value, without surrounding whitespace (a secret saved from a file often ends
 * in a newline). A secret without a string value (binary) or with nothing but whitespace reads as "":
 * that provider is refused, the others keep working. The client is created on first use only.
 */
export function secretsManagerReader(region: string): SecretReader {
  let client: SecretsManagerClient | undefined;
  return async (arn) => {
    client ??= new SecretsManagerClient({ region });
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    return (SecretString ?? "").trim();
  };
}
