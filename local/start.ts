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
const { StoreSetupError, startLocalStack } = await import("./stack.ts");

try {
  const stack = await startLocalStack({
    env: {
      ...env,
      TABLE_NAME: env.TABLE_NAME || "im-edit",
      AWS_REGION: env.AWS_REGION || "local",
      TENCENT_SDKAPPID: env.TENCENT_SDKAPPID || "1400000000",
      DATA_DIR: dataDir,
    },
    host,
    port,
    apiToken,
    persist: true,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const { config } = stack;
  const appId = config.tencent?.sdkAppId ?? "";
  const lines = [
    "",
    `im-edit local stack listening on ${stack.url}`,
    `  store:           ${stack.storeDescription}${env.DYNAMODB_ENDPOINT ? "" : " (set DYNAMODB_ENDPOINT to use a DynamoDB endpoint instead)"}`,
    `  data:            ${dataDir} (spool${env.DYNAMODB_ENDPOINT ? "" : " and store"})`,
    `  Tencent callback URL (paste into the console, with a public tunnel in front):`,
    `                   ${stack.url}/callbacks/tencent`,
    `  API:             ${stack.url}/v1/messages?provider=tencent&appId=${appId}`,
    generatedToken
      ? `  API token:       ${generatedToken}   (generated for this run; set IM_EDIT_API_TOKEN to keep one)`
      : "  API token:       from IM_EDIT_API_TOKEN",
    `  config:          ${JSON.stringify(describeConfig(config))}`,
  ];
  if (stack.netease) {
    lines.push(
      `  Yunxin:          simulated at ${stack.netease.url} (no NETEASE_APP_SECRET / NETEASE_API_BASE_URL set)`,
      `  Yunxin copy URL: ${stack.url}/callbacks/netease`,
      '                   send a message through it: npm run send -- netease alice bob "hello"',
    );
  }
  if (stack.tencent) {
    lines.push(
      `  Tencent:         simulated at ${stack.tencent.url} (no TENCENT_SECRET_KEY / TENCENT_API_BASE_URL set);`,
      '                   send a message through it: npm run send -- tencent alice bob "hello"',
    );
  }
  if (config.tencent?.callbackToken === undefined) {
    lines.push(
      "",
      "  WARNING: TENCENT_CALLBACK_TOKEN is not set. Callbacks are accepted WITHOUT signature checks.",
      "           Set it to the console's callback token before exposing this server.",
    );
  }
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
  if (error instanceof StoreSetupError) {
    process.stderr.write(`im-edit: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
