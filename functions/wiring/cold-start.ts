// The process-wide dependencies of a warm Lambda: created once per cold start from the secrets and the
// config, read again while a secret is unusable, and what this function refuses reported once.
import { createDependencies, type Dependencies, type Editing } from "../clients.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { MisconfiguredError } from "../core/errors.ts";
import { RulesError } from "../core/rules/engine.ts";
import { logger } from "../logger.ts";
import { count, MISCONFIGURED_METRIC } from "../metrics.ts";
import type { SecuredWork } from "../providers/manifest.ts";
import { secretsManagerReader, withSecrets } from "../secrets.ts";
import { describeUnusable } from "./guards.ts";

let current: Promise<Dependencies> | undefined;
/** While a secret this function needs is unusable: when to read the secrets again. */
let recheckAt: number | undefined;

/**
 * How often a warm instance that refuses work for an unusable secret reads its secrets again, so that
 * fixing the secret's value takes effect within a minute, without a redeploy (and the refusal keeps
 * being logged and counted meanwhile).
 */
export const UNUSABLE_SECRET_RECHECK_MS = 60_000;

/**
 * The process-wide dependencies: secrets read, config parsed and clients created on first use, then
 * reused by every invocation of a warm Lambda. A failure is not cached, so the next call retries; a
 * configuration that cannot load (an unreadable secret, a bad value) answers 503 `misconfigured`,
 * logged and counted. The recorder calls it without `editing`, the editor with it: each reports, once
 * per cold start, only what concerns its own work (the editor says nothing about callback signing).
 */
export function dependencies(editing?: Editing): Promise<Dependencies> {
  if (recheckAt !== undefined && Date.now() >= recheckAt) {
    current = undefined;
    recheckAt = undefined;
  }
  current ??= (async () => {
    let config: Config;
    try {
      const env = await withSecrets(process.env, secretsManagerReader(process.env.AWS_REGION ?? "us-east-1"));
      config = loadConfig(env);
    } catch (error: unknown) {
      if (!(error instanceof ConfigError)) throw error;
      // Problems name variables, never values.
      logger.error("configuration cannot be loaded: every request is refused", { problems: error.problems });
      count(MISCONFIGURED_METRIC);
      throw new MisconfiguredError("this deployment is misconfigured", { cause: error });
    }
    let deps: Dependencies;
    try {
      deps = createDependencies(config, {}, editing);
    } catch (error: unknown) {
      if (!(error instanceof RulesError)) throw error;
      // The message names the rule, the field and the reason (never a secret: rules hold none).
      logger.error("rules file cannot be loaded: every request is refused", { problem: error.message });
      count(MISCONFIGURED_METRIC);
      throw new MisconfiguredError("this deployment's rules file is invalid", { cause: error });
    }
    const refusing = reportColdStart(config, editing ? ["edits"] : ["callbacks", "forwards"]);
    recheckAt = refusing ? Date.now() + UNUSABLE_SECRET_RECHECK_MS : undefined;
    return deps;
  })().catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

/**
 * Once per cold start, what this function (the recorder and the forwarder: callbacks and forwards; the
 * editor: edits) will refuse or allow unsigned. True when it refuses work for an unusable secret.
 */
function reportColdStart(config: Config, works: readonly SecuredWork[]): boolean {
  let refusing = false;
  for (const secret of config.unusableSecrets) {
    const work = works.find((candidate) => secret.refuses.includes(candidate));
    if (work === undefined) continue;
    refusing = true;
    // A refused forward is no 503: the callback is recorded and answered, the app's copy is refused.
    const answer = work === "forwards" ? "" : " (503 misconfigured)";
    logger.error(
      `${secret.provider} ${work} will be refused${answer}: ${secret.variable} is unusable`,
      describeUnusable(secret),
    );
    count(MISCONFIGURED_METRIC);
  }
  if (works.includes("callbacks")) {
    // What the providers' manifests say is accepted unsafely (e.g. Tencent callbacks without a token).
    for (const manifest of config.manifests) {
      const warnings = manifest.config.callbackWarnings?.(
        config.providers.get(manifest.name)?.settings,
        config.unusableSecrets.filter((secret) => secret.provider === manifest.name),
      );
      for (const warning of warnings ?? []) logger.warn(warning);
    }
  }
  return refusing;
}

/** Tests and the local stack install their own dependencies (same handlers, other store or clock). */
export function setDependencies(deps: Dependencies | undefined): void {
  current = deps ? Promise.resolve(deps) : undefined;
  recheckAt = undefined;
}
