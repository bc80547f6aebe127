import type { ProviderName } from "./core/model.ts";
import { blank, type Env as Environment } from "./providers/env.ts";
import type { ProviderManifest, SecretSpec, SecuredWork } from "./providers/manifest.ts";
import { PROVIDERS } from "./providers/recorder-providers.ts";

/*
 * Which configured secrets can be used (fail closed), apart from the rest of the configuration: the
 * manifests' secrets, what each guards, and the ones that resolved blank or are missing in AWS.
 */

/**
 * The secrets of a list of manifests, and what each one guards. In AWS each comes from Secrets Manager
 * through `<NAME>_SECRET_ARN` (see secrets.ts). Fail closed: a secret that cannot be used refuses the
 * work it guards, for its provider only, with 503 `misconfigured`; it never turns a check off.
 */
export function secretsOf(
  manifests: readonly ProviderManifest[] = PROVIDERS,
): ReadonlyMap<SecretName, SecretSpec & { readonly provider: ProviderName }> {
  return new Map(
    manifests.flatMap((manifest) =>
      manifest.secrets.map((secret) => [secret.variable, { ...secret, provider: manifest.name }] as const),
    ),
  );
}

/** A secret's variable (e.g. `TENCENT_CALLBACK_TOKEN`), as a manifest names it. */
export type SecretName = string;

/** A secret that was configured but cannot be used: its provider's callbacks and/or edits are refused. */
export interface UnusableSecret {
  readonly variable: SecretName;
  readonly provider: ProviderName;
  /** The provider's app (Tencent SDKAppID, NetEase AppKey). */
  readonly appId: string;
  readonly refuses: readonly SecuredWork[];
  /**
   * `blank`: it resolved empty or to whitespace (from Secrets Manager, or a plain value in AWS);
   * `missing`: AWS needs it (the callback token; the NetEase AppSecret with an AppKey) and it is absent.
   */
  readonly reason: "blank" | "missing";
}

/**
 * Which secrets are blank, and what that means here. A secret that is blank although it was configured
 * (its `_SECRET_ARN` is set) or, in AWS (a Lambda), set plainly to whitespace, or that AWS needs and
 * is absent, is unusable: the function keeps running for everything else and refuses what it guards.
 * Locally a whitespace-only value is a typo and fails at start; an empty one is unset.
 */
export function checkSecrets(
  env: Environment,
  secrets: ReturnType<typeof secretsOf>,
): {
  unusable: Map<SecretName, UnusableSecret["reason"]>;
  problems: string[];
} {
  const inAws = !blank(env.AWS_LAMBDA_FUNCTION_NAME);
  const unusable = new Map<SecretName, UnusableSecret["reason"]>();
  const problems: string[] = [];
  for (const [variable, secret] of secrets) {
    const value = env[variable];
    if (!blank(value)) continue;
    // E.g. a NetEase secret matters only with a NetEase AppKey.
    if (secret.appliesTo && !secret.appliesTo(env)) continue;
    const whitespace = value !== undefined && value !== "";
    if (!blank(env[`${variable}_SECRET_ARN`]) || (inAws && whitespace)) unusable.set(variable, "blank");
    else if (whitespace) {
      problems.push(`${variable}: only whitespace; set the real value, or set it empty to leave it unset`);
    } else if (inAws && secret.requiredInAws) unusable.set(variable, "missing");
  }
  return { unusable, problems };
}
