// What a warm Lambda builds once per cold start from the secrets and the config, read again while a secret
// is unusable, and what the function refuses reported once: the recorder's and the editor's dependencies
// (cold-start.ts) and the forwarder's relay (forwarding.ts). Imports no function's dependencies, so the
// forwarder's bundle carries none of the recorder's.
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { MisconfiguredError } from "../core/errors.ts";
import { logger } from "../logger.ts";
import { count, MISCONFIGURED_METRIC } from "../metrics.ts";
import type { SecuredWork } from "../providers/manifest.ts";
import { secretsManagerReader, withSecrets } from "../secrets.ts";
import { describeUnusable } from "./guards.ts";

/**
 * How often a warm instance that refuses work for an unusable secret reads its secrets again, so that
 * fixing the secret's value takes effect within a minute, without a redeploy (and the refusal keeps
 * being logged and counted meanwhile).
 */
export const UNUSABLE_SECRET_RECHECK_MS = 60_000;

/**
 * One function's process-wide value: secrets read, config parsed and `build` run on first use, then reused
 * by every invocation of a warm Lambda. A failure is not cached, so the next call retries; a configuration
 * that cannot load (an unreadable secret, a bad value) throws 503 `misconfigured`, logged and counted.
 */
export class PerColdStart<T> {
  private current: Promise<T> | undefined;
  /** While a secret this function needs is unusable: when to read the secrets again. */
  private recheckAt: number | undefined;

  /** `works`: what this function does, so its cold start reports only what concerns that work. */
  get(build: (config: Config) => T, works: readonly SecuredWork[]): Promise<T> {
    if (this.recheckAt !== undefined && Date.now() >= this.recheckAt) {
      this.current = undefined;
      this.recheckAt = undefined;
    }
    this.current ??= (async () => {
      const config = await loadFromEnvironment();
      const value = build(config);
      const refusing = reportColdStart(config, works);
      this.recheckAt = refusing ? Date.now() + UNUSABLE_SECRET_RECHECK_MS : undefined;
      return value;
    })().catch((error: unknown) => {
      this.current = undefined;
      throw error;
    });
    return this.current;
  }

  /** Tests and the local stack install their own (undefined: built again on next use). */
  set(value: T | undefined): void {
    this.current = value ? Promise.resolve(value) : undefined;
    this.recheckAt = undefined;
  }
}

/** This process's configuration, its secrets read from Secrets Manager. */
async function loadFromEnvironment(): Promise<Config> {
  try {
    const env = await withSecrets(process.env, secretsManagerReader(process.env.AWS_REGION ?? "us-east-1"));
    return loadConfig(env);
  } catch (error: unknown) {
    if (!(error instanceof ConfigError)) throw error;
    // Problems name variables, never values.
    logger.error("configuration cannot be loaded: every request is refused", { problems: error.problems });
    count(MISCONFIGURED_METRIC);
    throw new MisconfiguredError("this deployment is misconfigured", { cause: error });
  }
}

/**
 * Once per cold start, what this function (the recorder: callbacks and forwards; the forwarder: forwards;
 * the editor: edits) will refuse or allow unsigned. True when it refuses work for an unusable secret.
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
