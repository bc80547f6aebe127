// Fail closed, as `createDependencies` wires it: a provider or editor whose secret is unusable refuses
// its work with 503 `misconfigured`, for that provider only.

import { MisconfiguredError } from "../core/errors.ts";
import type { ProviderName } from "../core/model.ts";
import type { CallbackProvider, ProviderEditor } from "../core/provider.ts";
import { logger } from "../logger.ts";
import { count, MISCONFIGURED_METRIC } from "../metrics.ts";
import type { SecuredWork } from "../providers/manifest.ts";
import type { UnusableSecret } from "../secret-checks.ts";

/**
 * Fail closed. A provider whose callback secret is unusable answers every callback with 503
 * `misconfigured` (logged at error level and counted: the stack alarms on it) instead of verifying
 * without the secret; reads by natural key keep working where the provider is built. Its other
 * providers are untouched: one blank secret does not take the whole function down.
 */
export function guardProviders(
  providers: ReadonlyMap<ProviderName, CallbackProvider>,
  unusable: readonly UnusableSecret[],
): ReadonlyMap<ProviderName, CallbackProvider> {
  const guarded = new Map(providers);
  for (const secret of unusable) {
    if (!secret.refuses.includes("callbacks")) continue;
    const inner = providers.get(secret.provider);
    const refuse = (): never => {
      throw refusal(secret, "callbacks");
    };
    guarded.set(secret.provider, {
      name: secret.provider,
      appId: inner?.appId ?? secret.appId,
      ...(inner?.operator !== undefined ? { operator: inner.operator } : {}),
      // Never sent: verify throws first.
      ack: inner?.ack ?? { status: 503, body: {} },
      reply: () => inner?.ack ?? { status: 503, body: {} },
      verify: refuse,
      interpret: refuse,
      lookup: inner
        ? (appId, params) => inner.lookup(appId, params)
        : () => {
            // Not built without its secret (NetEase): lists still work, natural-key lookups do not.
            throw refusal(secret, "lookups");
          },
    });
  }
  return guarded;
}

/**
 * Likewise for edits: a provider whose signing secret is unusable refuses every edit with 503
 * `misconfigured` before any lease, intent or provider call (never a request signed with an empty key).
 */
export function guardEditors(
  editors: ReadonlyMap<ProviderName, ProviderEditor>,
  unusable: readonly UnusableSecret[],
): ReadonlyMap<ProviderName, ProviderEditor> {
  const guarded = new Map(editors);
  for (const secret of unusable) {
    if (!secret.refuses.includes("edits")) continue;
    const refuse = (): never => {
      throw refusal(secret, "edits");
    };
    guarded.set(secret.provider, {
      name: secret.provider,
      appId: secret.appId,
      parseChange: refuse,
      plan: refuse,
      planRestore: refuse,
      notRestorable: () => `editing ${secret.provider} messages is refused: a secret is unusable`,
      checkEditable: refuse,
      modify: async () => refuse(),
      readBack: async () => refuse(),
    });
  }
  return guarded;
}

/** Logs (error level) and counts a refusal, and returns the error to throw; the caller learns no more. */
export function refusal(secret: UnusableSecret, work: SecuredWork | "lookups"): MisconfiguredError {
  logger.error(
    `${secret.provider} ${work} refused: ${secret.variable} is unusable`,
    describeUnusable(secret),
  );
  count(MISCONFIGURED_METRIC);
  return new MisconfiguredError(
    `${secret.provider} ${work} are refused: this deployment's ${secret.provider} configuration is incomplete`,
  );
}

export const describeUnusable = (secret: UnusableSecret) => ({
  variable: secret.variable,
  provider: secret.provider,
  appId: secret.appId,
  refuses: secret.refuses,
  reason: secret.reason === "blank" ? "configured but empty or whitespace" : "missing (required in AWS)",
});
