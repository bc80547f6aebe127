import type { Config } from "../config.ts";
import type { RateLimiter, RateRule } from "../core/limiter.ts";
import type { ProviderName } from "../core/model.ts";
import type { ProviderEditor } from "../core/provider.ts";
import { EDITOR_PROVIDERS } from "./editor-providers.ts";
import type { EditorManifest } from "./manifest.ts";

/** How to edit (clients.ts `Editing`), derived from a list of editor manifests. */
export interface EditingRegistry {
  createEditors(config: Config, limiter: RateLimiter): ReadonlyMap<ProviderName, ProviderEditor>;
  rateRule(config: Config): (key: string) => RateRule;
}

const DEFAULT_RULE: RateRule = { limit: 1, windowMs: 1000 };

/**
 * Editors for the configured providers that have an editor manifest here and whose settings allow
 * editing; all share one rate limiter. Rate rules come from the configured providers' manifests, by
 * the key's first part (`<provider>:<app>:<api>`).
 */
export function editingFor(manifests: readonly EditorManifest[]): EditingRegistry {
  const byName = new Map(manifests.map((manifest) => [manifest.name, manifest]));
  return {
    createEditors: (config, limiter) => {
      const editors = new Map<ProviderName, ProviderEditor>();
      for (const [name, { settings }] of config.providers) {
        const editor = byName.get(name)?.createEditor(settings, limiter);
        if (editor) editors.set(name, editor);
      }
      return editors;
    },
    rateRule: (config) => (key) => {
      const configured = config.providers.get(key.split(":")[0] as ProviderName);
      return configured?.manifest.rateRule(configured.settings, key) ?? DEFAULT_RULE;
    },
  };
}

/** The editor bundle's registry: the providers of editor-providers.ts. */
export const { createEditors, rateRule } = editingFor(EDITOR_PROVIDERS);
