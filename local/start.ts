import { randomBytes } from "node:crypto";
import { resolve } from "node:path";

/**
 * `npm start`: the whole service on this machine. Every variable has a local default, so a bare
 * start works; configured secrets are never printed, a generated API token is printed once.
 */
const env = process.env;
const host = env.HOST || "127.0.0.1";
const port = Number(env.PORT || "3000");
const dataDir = resolve(env.DATA_DIR || ".data");
const generatedToken = env.IM_EDIT_API_TOKEN ? undefined : randomBytes(24).toString("base64url");
const apiToken = env.IM_EDIT_API_TOKEN || (generatedToken as string);

// Local clients never look for AWS credentials or instance metadata, and metrics (EMF) stay off.
// Set before the handlers are imported (below, dynamically): they read these when they load.
env.AWS_EC2_METADATA_DISABLED = "true";
env.POWERTOOLS_METRICS_DISABLED ??= "true";
const { ConfigError, describeConfig } = await import("../functions/config.ts");
const { describeFallback, forwardTargets } = await import("../functions/relay-config.ts");
type Config = import("../functions/config.ts").Config;
const { listingsValue } = await import("../functions/core/listings.ts");
const { StoreSetupError, startLocalStack } = await import("./stack.ts");
const { RulesError } = await import("../functions/core/rules/engine.ts");
type RuleSet = import("../functions/core/rules/engine.ts").RuleSet;
const { SIMULATORS } = await import("./simulators/registry.ts");
const { describeEventsUrl } = await import("../functions/adapters/outbox/http.ts");
const { LOCAL_EVENTS_PATH } = await import("./events.ts");
const { CONSOLE_PATH, prepareConsole } = await import("./console.ts");

/** The console (built now, so the first page load is instant, and a broken build shows at start). */
async function consoleLines(url: string): Promise<string[]> {
  try {
    const { jsGzipBytes } = await prepareConsole();
    return [
      `  console:         ${url}${CONSOLE_PATH}   (sign in with the API token; ${(jsGzipBytes / 1024).toFixed(1)} KB of gzipped JavaScript)`,
      `  API reference:   ${url}/docs (from ${url}/openapi.json)`,
    ];
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return [`  console:         could not be built (${reason})`];
  }
}

/** Which rules are in force, from where (the file is watched: a change applies without a restart). */
function rulesLine(rules: RuleSet, file: string | undefined): string {
  if (file === undefined) return "  rules:           none (IM_EDIT_RULES names a rules file, JSON or YAML)";
  const after = rules.on("after-send").length;
  const before = rules.on("before-send").length;
  return `  rules:           ${after} after-send, ${before} before-send from ${file} (reloaded when it changes)`;
}

/** Where the relay forwards callbacks (origins only: a URL may carry credentials), with its budget and policy. */
function relayLines(config: Config): string[] {
  const targets = Object.entries(forwardTargets(config)).map(([name, origin]) => `${name} → ${origin}`);
  if (targets.length === 0) return [];
  const fallback = describeFallback(config.callbackForwardFallback);
  return [
    `  relay:           ${targets.join(", ")} (before-send: ${config.callbackForwardTimeoutMs} ms, then ${fallback}; others queued under DATA_DIR/forwards, ${config.forwardQueueMaxReceives} attempts)`,
  ];
}

/** Where outgoing events go (IM_EDIT_EVENTS_URL, when set) and how to send EditRequested in. */
function eventLines(url: string, eventsUrl: string | undefined, withContent: boolean): string[] {
  const where =
    eventsUrl === "-"
      ? "printed here, one JSON line each"
      : `POSTed to ${describeEventsUrl(eventsUrl ?? "")}`;
  const content = withContent ? ", with content (EVENTS_INCLUDE_CONTENT)" : "";
  return [
    ...(eventsUrl !== undefined ? [`  events out:      ${where}${content} (IM_EDIT_EVENTS_URL)`] : []),
    `  events in:       POST ${url}${LOCAL_EVENTS_PATH} (EditRequested, as aws events put-events sends it)`,
  ];
}

try {
  const stack = await startLocalStack({
    env: {
      ...env,
      TABLE_NAME: env.TABLE_NAME || "im-edit",
      AWS_REGION: env.AWS_REGION || "local",
      TENCENT_SDKAPPID: env.TENCENT_SDKAPPID || "1400000000",
      DATA_DIR: dataDir,
      // The server's own port: a forward URL naming this server's callback route is refused (a loop).
      PORT: String(port),
    },
    host,
    port,
    apiToken,
    persist: true,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const { config } = stack;
  // Per provider, from the registered manifests (configured ones) and simulators (running ones).
  const configured = config.manifests.filter((manifest) => config.providers.has(manifest.name));
  const first = configured[0];
  const warnings = config.manifests.flatMap(
    (manifest) =>
      manifest.config.callbackWarnings?.(
        config.providers.get(manifest.name)?.settings,
        config.unusableSecrets.filter((secret) => secret.provider === manifest.name),
      ) ?? [],
  );
  const lines = [
    "",
    `im-edit local stack listening on ${stack.url}`,
    `  store:           ${stack.storeDescription}${env.DYNAMODB_ENDPOINT ? "" : " (set DYNAMODB_ENDPOINT to use a DynamoDB endpoint instead)"}`,
    `  data:            ${dataDir} (spool${env.DYNAMODB_ENDPOINT ? "" : " and store"})`,
    ...configured.flatMap((manifest) => [
      `  ${manifest.cdk.callbackOutput.description} (${stack.simulators.has(manifest.name) ? "its simulator calls it" : "paste into the console, with a public tunnel in front"}):`,
      `                   ${stack.url}/callbacks/${manifest.name}`,
    ]),
    ...(first
      ? [
          // The whole-app list needs the app listing; without it the API's root is the useful pointer.
          config.listings.has("app")
            ? `  API:             ${stack.url}/v1/messages?provider=${first.name}&appId=${config.providers.get(first.name)?.appId ?? ""}`
            : `  API:             ${stack.url}/v1/messages/<id>, or by whole natural key (listings: ${listingsValue(config.listings)})`,
        ]
      : []),
    generatedToken
      ? `  API token:       ${generatedToken}   (generated for this run; set IM_EDIT_API_TOKEN to keep one)`
      : "  API token:       from IM_EDIT_API_TOKEN",
    rulesLine(stack.deps.rules.current(), config.rulesFile),
    ...relayLines(config),
    ...(await consoleLines(stack.url)),
    `  bulk jobs:       POST ${stack.url}/v1/edits · watch one: npm run jobs -- watch <id>`,
    ...eventLines(stack.url, config.eventsUrl, config.eventsIncludeContent),
    `  config:          ${JSON.stringify(describeConfig(config))}`,
    ...SIMULATORS.flatMap((simulator) => {
      const running = stack.simulators.get(simulator.name);
      if (!running) return [];
      return [
        `  ${simulator.banner?.(running) ?? `${simulator.name}: simulated at ${running.url}`}`,
        ...(simulator.send
          ? [
              `                   send a message through it: npm run send -- ${simulator.name} alice bob "hello"`,
            ]
          : []),
      ];
    }),
    ...warnings.flatMap((warning) => [
      "",
      `  WARNING: ${warning}.`,
      "           Fix it before exposing this server.",
    ]),
  ];
  process.stdout.write(`${lines.join("\n")}\n\n`);

  const shutdown = async () => {
    await stack.close();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
} catch (error: unknown) {
  if (error instanceof ConfigError) {
    process.stderr.write(`im-edit: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof RulesError) {
    // Names the file, the rule (id or index), the field and the reason: fix the file and start again.
    process.stderr.write(`im-edit: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof StoreSetupError) {
    process.stderr.write(`im-edit: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
