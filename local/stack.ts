import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileSpool } from "../functions/adapters/spool.ts";
import { createDependencies, type Dependencies, setDependencies } from "../functions/clients.ts";
import { type Config, loadConfig } from "../functions/config.ts";
import { handler as editor } from "../functions/editor.ts";
import * as editing from "../functions/providers/editing.ts";
import { handler as recorder } from "../functions/recorder.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "./dynamo.ts";
import { type LambdaHandler, type RunningServer, startLocalServer } from "./server.ts";
import { NeteaseSimulator, type NeteaseSimulatorOptions } from "./simulators/netease/api.ts";
import { TencentSimulator, type TencentSimulatorOptions } from "./simulators/tencent/api.ts";

/** Where `npm start` leaves the simulators' generated credentials for `npm run send` (mode 0600). */
export const SIMULATORS_FILE = "simulators.json";

export interface LocalStackOptions {
  /** Environment in the same shape as the Lambda's (defaults already applied by the caller). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: string;
  readonly port: number;
  readonly apiToken: string;
  /** Persist dynalite under `<dataDir>/dynalite`; in memory when false (tests). */
  readonly persist: boolean;
  /** How often the spool is drained into the store. */
  readonly drainIntervalMs?: number;
  /** Overrides for tests (a failing store, a clock). */
  readonly overrides?: Partial<Dependencies>;
  /** Use this DynamoDB endpoint instead of starting dynalite (e.g. DynamoDB Local). */
  readonly dynamodbEndpoint?: string;
  /**
   * Play Tencent with the built-in simulator (its URL and a generated secret key replace the real
   * ones). Default: when neither TENCENT_SECRET_KEY nor TENCENT_API_BASE_URL is configured.
   */
  readonly tencentSimulator?: boolean | Partial<TencentSimulatorOptions>;
  /** Likewise for Yunxin: default when neither NETEASE_APP_SECRET nor NETEASE_API_BASE_URL is configured. */
  readonly neteaseSimulator?: boolean | Partial<NeteaseSimulatorOptions>;
}

export interface LocalStack {
  readonly url: string;
  readonly config: Config;
  readonly deps: Dependencies;
  readonly spool: FileSpool;
  /** The Tencent simulator, when the stack runs one. */
  readonly tencent?: TencentSimulator;
  /** The Yunxin simulator, when the stack runs one. */
  readonly netease?: NeteaseSimulator;
  /** Replays the spool now; resolves with what was applied. */
  drain(): Promise<{ applied: number; remaining: number }>;
  close(): Promise<void>;
}

/** The local embedded stack: dynalite + the real handlers behind a local API Gateway stand-in. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = options.env.DATA_DIR;
  if (dataDir === undefined) throw new Error("DATA_DIR is required for the local stack (spool and dynalite)");
  await mkdir(dataDir, { recursive: true });

  let dynamo: LocalDynamo | undefined;
  let endpoint = options.dynamodbEndpoint;
  if (endpoint === undefined) {
    dynamo = await startDynalite(options.persist ? { path: join(dataDir, "dynalite") } : {});
    endpoint = dynamo.endpoint;
  }
  const simulate =
    options.tencentSimulator ??
    (options.env.TENCENT_SECRET_KEY === undefined && options.env.TENCENT_API_BASE_URL === undefined);
  let tencent: TencentSimulator | undefined;
  let env: Record<string, string | undefined> = { ...options.env, DYNAMODB_ENDPOINT: endpoint };
  if (simulate !== false) {
    const secretKey = randomBytes(32).toString("hex");
    tencent = await TencentSimulator.start({
      sdkAppId: env.TENCENT_SDKAPPID ?? "1400000000",
      secretKey,
      adminIdentifier: env.TENCENT_ADMIN_IDENTIFIER ?? "administrator",
      ...(env.TENCENT_CALLBACK_TOKEN !== undefined ? { callbackToken: env.TENCENT_CALLBACK_TOKEN } : {}),
      host: "127.0.0.1",
      ...(typeof simulate === "object" ? simulate : {}),
    });
    env = { ...env, TENCENT_SECRET_KEY: secretKey, TENCENT_API_BASE_URL: tencent.url };
  }
  const simulateNetease =
    options.neteaseSimulator ??
    (options.env.NETEASE_APP_SECRET === undefined && options.env.NETEASE_API_BASE_URL === undefined);
  let netease: NeteaseSimulator | undefined;
  if (simulateNetease !== false) {
    const appKey = env.NETEASE_APP_KEY ?? "im-edit-local-appkey";
    const appSecret = randomBytes(16).toString("hex");
    netease = await NeteaseSimulator.start({
      appKey,
      appSecret,
      host: "127.0.0.1",
      ...(typeof simulateNetease === "object" ? simulateNetease : {}),
    });
    env = {
      ...env,
      NETEASE_APP_KEY: appKey,
      NETEASE_APP_SECRET: appSecret,
      NETEASE_API_BASE_URL: netease.url,
    };
  }
  const config = loadConfig(env);
  // The store is ready before the server listens: the table exists and is ACTIVE.
  await ensureTable(endpoint, config.tableName);

  const spool = new FileSpool(join(dataDir, "spool"));
  const deps = createDependencies(config, { fallback: spool, ...options.overrides }, editing);
  setDependencies(deps);

  const server: RunningServer = await startLocalServer({
    host: options.host,
    port: options.port,
    apiToken: options.apiToken,
    handlers: { recorder: recorder as LambdaHandler, editor: editor as LambdaHandler },
    maxBodyBytes: config.callbackMaxBytes,
  });

  // Local dev convenience: the simulators' generated credentials (never real ones) for `npm run send`.
  const credentialsFile = join(dataDir, SIMULATORS_FILE);
  if (tencent || netease) {
    const simulators = {
      api: { url: server.url },
      ...(tencent && config.tencent?.edit
        ? {
            tencent: {
              url: tencent.url,
              sdkAppId: config.tencent.sdkAppId,
              adminIdentifier: config.tencent.edit.adminIdentifier,
              secretKey: config.tencent.edit.secretKey,
            },
          }
        : {}),
      ...(netease && config.netease
        ? {
            netease: { url: netease.url, appKey: config.netease.appKey, appSecret: config.netease.appSecret },
          }
        : {}),
    };
    await writeFile(credentialsFile, JSON.stringify(simulators), { mode: 0o600 });
  }
  tencent?.setCallbackUrl(`${server.url}/callbacks/tencent`);
  netease?.setCopyUrl(`${server.url}/callbacks/netease`);

  let draining: Promise<{ applied: number; remaining: number }> | undefined;
  const drain = () => {
    draining ??= spool
      .drain((entry) => deps.durable.replay(entry))
      .finally(() => {
        draining = undefined;
      });
    return draining;
  };
  const timer = setInterval(() => {
    drain().catch(() => {});
  }, options.drainIntervalMs ?? 1_000);
  timer.unref();

  return {
    url: server.url,
    config,
    deps,
    spool,
    ...(tencent ? { tencent } : {}),
    ...(netease ? { netease } : {}),
    drain,
    close: async () => {
      clearInterval(timer);
      await draining?.catch(() => {});
      await server.close();
      await tencent?.close();
      await netease?.close();
      await rm(credentialsFile, { force: true });
      setDependencies(undefined);
      await dynamo?.close();
    },
  };
}
