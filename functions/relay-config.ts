// The relay's configuration (issue 16): the before-send fallback policy and budget, the forward URLs'
// checks, and how config summaries show them. Part of loadConfig (config.ts).
import type { Config } from "./config.ts";
import type { ForwardFallback } from "./core/relay-hook.ts";
import { blank, type Env as Environment } from "./providers/env.ts";
import { forwardOrigin, type ProviderManifest } from "./providers/manifest.ts";

/** The before-send forward's ceiling: the store keeps its share of Tencent's 2 s. */
export const MAX_CALLBACK_FORWARD_TIMEOUT_MS = 1800;

/** `allow`, `block` or `block:<code>` (a positive integer code, up to 10 digits). */
export const FORWARD_FALLBACK_PATTERN = /^(allow|block(:[1-9]\d{0,9})?)$/;
export const FALLBACK_HINT = "must be allow, block or block:<code> (a positive integer)";

/** CALLBACK_FORWARD_FALLBACK as a policy (`block` alone refuses with ErrorCode 1). */
export function fallbackPolicy(value: string): ForwardFallback {
  if (value === "allow") return { action: "allow" };
  const code = value.split(":")[1];
  return { action: "block", code: code === undefined ? 1 : Number(code) };
}

export const forwardUrlOf = (manifest: ProviderManifest, env: Environment): string | undefined => {
  const variable = manifest.config.forward?.urlVariable;
  return variable === undefined ? undefined : env[variable];
};

/** Where a forward to im-edit's own callback route would come back: loopback names. */
export const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * A provider's forward URL (its fragment checked the shape): https in AWS (AWS_LAMBDA_FUNCTION_NAME set);
 * never im-edit's own callback route, as far as this process can tell: a loopback URL of
 * `/callbacks/<provider>` on the local server's PORT (when PORT is known). A loop through a public name
 * (a tunnel, the function URL) cannot be seen from here (README). In AWS the asynchronous forwards need
 * their queue. The URL itself is never quoted: it may carry credentials.
 */
export function forwardProblems(
  manifest: ProviderManifest,
  env: Environment,
  generic: { readonly FORWARD_QUEUE_URL?: string | undefined },
): string[] {
  const variable = manifest.config.forward?.urlVariable;
  const value = forwardUrlOf(manifest, env);
  if (variable === undefined || value === undefined || !URL.canParse(value)) return [];
  const url = new URL(value);
  const inAws = !blank(env.AWS_LAMBDA_FUNCTION_NAME);
  const problems: string[] = [];
  if (inAws && url.protocol !== "https:") problems.push(`${variable}: must be an https URL in AWS`);
  if (inAws && generic.FORWARD_QUEUE_URL === undefined)
    problems.push(`FORWARD_QUEUE_URL: required in AWS when ${variable} is set`);
  const port = env.PORT;
  const urlPort = url.port || (url.protocol === "https:" ? "443" : "80");
  const route = url.pathname.replace(/\/+$/, "");
  if (
    port !== undefined &&
    LOOPBACK_HOSTS.has(url.hostname) &&
    urlPort === port &&
    route === `/callbacks/${manifest.name}`
  ) {
    problems.push(`${variable}: points at im-edit's own callback route (a forward loop)`);
  }
  return problems;
}

/** Where each forwarding provider's callbacks go, by origin only (a URL may carry credentials). */
export function forwardTargets(config: Pick<Config, "providers">): Record<string, string> {
  return Object.fromEntries(
    [...config.providers].flatMap(([name, provider]) =>
      provider.forwardUrl !== undefined ? [[name, forwardOrigin(provider.forwardUrl)] as const] : [],
    ),
  );
}

/** The relay's settings: targets by origin only (a URL may carry credentials), queues as set or unset. */
export function describeRelay(
  config: Config,
  targets: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return {
    targets,
    beforeSend: {
      timeoutMs: config.callbackForwardTimeoutMs,
      fallback: describeFallback(config.callbackForwardFallback),
    },
    queue:
      config.forwardQueueUrl !== undefined
        ? "set"
        : config.dataDir !== undefined
          ? "DATA_DIR/forwards"
          : "memory",
    deadLetters:
      config.forwardDlqUrl !== undefined
        ? "set"
        : config.dataDir !== undefined
          ? "DATA_DIR/dead-letters"
          : "none",
    attempts: config.forwardQueueMaxReceives,
    attemptTimeoutMs: config.forwardTimeoutMs,
    maxResponseBytes: config.forwardMaxResponseBytes,
  };
}

/** The fallback policy as CALLBACK_FORWARD_FALLBACK spells it. */
export const describeFallback = (fallback: ForwardFallback): string =>
  fallback.action === "allow" ? "allow" : `block:${fallback.code}`;
