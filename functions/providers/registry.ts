import type { Config } from "../config.ts";
import type { ProviderName } from "../core/model.ts";
import type { CallbackProvider } from "../core/provider.ts";
import { createTencentProvider } from "./tencent/provider.ts";

/** The one place that knows which providers exist. A new provider is a folder plus one entry here. */
export function createProviders(config: Config): ReadonlyMap<ProviderName, CallbackProvider> {
  const providers = new Map<ProviderName, CallbackProvider>();
  if (config.tencent) providers.set("tencent", createTencentProvider(config.tencent));
  return providers;
}
