// The forwarder function's process-wide dependencies: the relay alone (its providers' relays, the forwarder,
// one delivery attempt) and the forward queue's dead letters. None of the recorder's store, limiter,
// services, rules or outbox: its bundle and cold start carry only what a delivery needs.
import type { Dependencies } from "../clients.ts";
import type { Config } from "../config.ts";
import { createProviders } from "../providers/registry.ts";
import { guardProviders } from "./guards.ts";
import { PerColdStart } from "./per-cold-start.ts";
import { createDeadLetters, createRelay, lazySqs } from "./queues.ts";

export interface RelayDependencies {
  readonly config: Config;
  /** As `Dependencies.relay`: the forwarder and `deliver`, one attempt bound to the forward's provider's relay. */
  readonly relay: Dependencies["relay"];
  /** The forward queue's dead letters (FORWARD_DLQ_URL; retries through FORWARD_QUEUE_URL's visibility). */
  readonly deadLetters: Pick<Dependencies["deadLetters"], "forward">;
}

/** config → providers (fail closed) → the forward dead letters → the relay. */
export function createRelayDependencies(
  config: Config,
  overrides: Partial<Pick<RelayDependencies, "deadLetters">> = {},
): RelayDependencies {
  const sqs = config.forwardQueueUrl || config.forwardDlqUrl ? lazySqs(config.region) : undefined;
  const deadLetters = overrides.deadLetters ?? createDeadLetters(config, sqs);
  const providers = guardProviders(createProviders(config), config.unusableSecrets);
  return { config, relay: createRelay(config, providers, sqs, deadLetters.forward), deadLetters };
}

const shared = new PerColdStart<RelayDependencies>();

/**
 * The forwarder's dependencies, once per cold start (see PerColdStart): it reports only the forwards it
 * will refuse, never the recorder's callback warnings.
 */
export function relayDependencies(): Promise<RelayDependencies> {
  return shared.get(createRelayDependencies, ["forwards"]);
}

/** Tests install their own (same handler, other dead letters). */
export function setRelayDependencies(deps: RelayDependencies | undefined): void {
  shared.set(deps);
}
