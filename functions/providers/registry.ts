import type { Config } from "../config.ts";
import type { ProviderName } from "../core/model.ts";
import type { CallbackProvider } from "../core/provider.ts";
import { createNeteaseProvider } from "./netease/provider.ts";
import { createTencentProvider } from "./tencent/provider.ts";

/**
 * The providers' callback receivers. With `editing.ts` (their editors), the places that know which
 * providers exist: a new provider is a folder plus an entry in each. They are two files so that the
 * recorder's bundle carries no REST client.
 */
export function createProviders(config: Config): ReadonlyMap<ProviderName, CallbackProvider> {
  const providers = new Map<ProviderName, CallbackProvider>();
  if (config.tencent) providers.set("tencent", createTencentProvider(config.tencent));
  if (config.netease) providers.set("netease", createNeteaseProvider(config.netease));
  return providers;
}
