import type { Config } from "../config.ts";
import type { ProviderName } from "../core/model.ts";
import type { CallbackProvider } from "../core/provider.ts";

/**
 * The configured providers' callback receivers, from their manifests (the list `loadConfig` was given:
 * recorder-providers.ts by default). With `editing.ts` (their editors) they make the registries; the
 * two are apart so that the recorder's bundle carries no REST client.
 */
export function createProviders(config: Config): ReadonlyMap<ProviderName, CallbackProvider> {
  const providers = new Map<ProviderName, CallbackProvider>();
  for (const [name, { manifest, settings }] of config.providers) {
    providers.set(name, manifest.createCallbacks(settings));
  }
  return providers;
}
