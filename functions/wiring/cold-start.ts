// The recorder's and the editor's process-wide dependencies: created once per cold start from the secrets
// and the config (per-cold-start.ts), read again while a secret is unusable, and what this function
// refuses reported once.
import { createDependencies, type Dependencies, type Editing } from "../clients.ts";
import type { Config } from "../config.ts";
import { MisconfiguredError } from "../core/errors.ts";
import { RulesError } from "../core/rules/engine.ts";
import { logger } from "../logger.ts";
import { count, MISCONFIGURED_METRIC } from "../metrics.ts";
import { PerColdStart } from "./per-cold-start.ts";

const shared = new PerColdStart<Dependencies>();

/**
 * The process-wide dependencies: secrets read, config parsed and clients created on first use, then
 * reused by every invocation of a warm Lambda. A failure is not cached, so the next call retries; a
 * configuration or rules file that cannot load answers 503 `misconfigured`, logged and counted. The
 * recorder calls it without `editing`, the editor with it: each reports, once per cold start, only what
 * concerns its own work (the editor says nothing about callback signing).
 */
export function dependencies(editing?: Editing): Promise<Dependencies> {
  return shared.get((config) => withRules(config, editing), editing ? ["edits"] : ["callbacks", "forwards"]);
}

function withRules(config: Config, editing: Editing | undefined): Dependencies {
  try {
    return createDependencies(config, {}, editing);
  } catch (error: unknown) {
    if (!(error instanceof RulesError)) throw error;
    // The message names the rule, the field and the reason (never a secret: rules hold none).
    logger.error("rules file cannot be loaded: every request is refused", { problem: error.message });
    count(MISCONFIGURED_METRIC);
    throw new MisconfiguredError("this deployment's rules file is invalid", { cause: error });
  }
}

/** Tests and the local stack install their own dependencies (same handlers, other store or clock). */
export function setDependencies(deps: Dependencies | undefined): void {
  shared.set(deps);
}
