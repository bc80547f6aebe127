import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { FileSpool } from "../functions/adapters/spool.ts";
import { SqliteStore, sqlitePath } from "../functions/adapters/sqlite/store.ts";
import { createDependencies, type Dependencies, setDependencies } from "../functions/clients.ts";
import { type Config, loadConfig } from "../functions/config.ts";
import { handler as editor } from "../functions/editor.ts";
import * as editing from "../functions/providers/editing.ts";
import { handler as recorder } from "../functions/recorder.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "./dynamo.ts";
import type { MigrationReport } from "./layout-v1.ts";
import { hasV1Data, isV1Table, migrateDataDir } from "./migrate.ts";
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
  /**
   * Persist the embedded store in `<dataDir>/im-edit.sqlite` (migrating the old layout's files found in
   * `<dataDir>/dynalite` first); in memory when false (tests).
   */
  readonly persist: boolean;
  /** How often the spool is drained into the store. */
  readonly drainIntervalMs?: number;
  /** Overrides for tests (a failing store, a clock). */
  readonly overrides?: Partial<Dependencies>;
  /**
   * Use the DynamoDB adapter on this endpoint (e.g. DynamoDB Local) instead of the embedded store; the
   * table is created when missing. Default: `DYNAMODB_ENDPOINT` from `env`.
   */
  readonly dynamodbEndpoint?: string;
  /** Progress of a migration of old local data (default: silent). */
  readonly log?: (line: string) => void;
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
  /** Which store it runs on, for people: "embedded (SQLite) at …" or "DynamoDB table … at …". */
  readonly storeDescription: string;
  /** What an automatic migration of old local data did, when one ran. */
  readonly migration?: { readonly report: MigrationReport; readonly backup?: string };
  readonly spool: FileSpool;
  /** The Tencent simulator, when the stack runs one. */
  readonly tencent?: TencentSimulator;
  /** The Yunxin simulator, when the stack runs one. */
  readonly netease?: NeteaseSimulator;
  /** Replays the spool now; resolves with what was applied. */
  drain(): Promise<{ applied: number; remaining: number }>;
  close(): Promise<void>;
}

/** The store cannot be set up as configured (old data, a v1 table, a setting that needs DynamoDB): say why. */
export class StoreSetupError extends Error {
  override readonly name = "StoreSetupError";
}

/**
 * The local stack: the real handlers behind a local API Gateway stand-in, on the embedded store
 * (SQLite under DATA_DIR) or, given an endpoint, the DynamoDB adapter; plus the provider simulators.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = options.env.DATA_DIR;
  if (dataDir === undefined) throw new Error("DATA_DIR is required for the local stack (spool and store)");
  await mkdir(dataDir, { recursive: true });

  const endpoint = options.dynamodbEndpoint ?? options.env.DYNAMODB_ENDPOINT;
  let embedded: SqliteStore | undefined;
  let limiterDynamo: LocalDynamo | undefined;
  let migration: LocalStack["migration"];
  let storeDescription: string;
  if (endpoint === undefined) {
    const path = options.persist ? sqlitePath(dataDir) : ":memory:";
    const retention = options.env.RETENTION_DAYS;
    embedded = new SqliteStore({ path, ...(retention ? { retentionDays: Number(retention) } : {}) });
    storeDescription = `embedded (SQLite) at ${options.persist ? path : "memory"}`;
    try {
      // Old local data (layout v1, dynalite's files) is migrated, never silently left behind.
      if (options.persist && (await hasV1Data(dataDir))) {
        migration = await migrateDataDir(dataDir, options.env.TABLE_NAME ?? "im-edit", embedded, {
          ...(options.log ? { log: options.log } : {}),
        });
      }
    } catch (error: unknown) {
      embedded.close();
      throw new StoreSetupError(
        `the old local data in ${join(dataDir, "dynalite")} (storage layout v1) could not be migrated: ` +
          `${error instanceof Error ? error.message : String(error)}. Nothing was moved or deleted; ` +
          `\`npm run migrate -- --data-dir ${dataDir}\` runs the migration on its own (see --help).`,
        { cause: error },
      );
    }
    if (options.env.RATE_LIMITER === "dynamodb") {
      // The shared DynamoDB limiter, asked for explicitly, needs a table: an in-memory dynalite holds it
      // (rate windows are short-lived), so the embedded store and that limiter work together.
      limiterDynamo = await startDynalite();
      storeDescription += "; edit rate limiter on an in-memory dynalite (RATE_LIMITER=dynamodb)";
    }
  } else {
    storeDescription = `DynamoDB table ${options.env.TABLE_NAME ?? "im-edit"} at ${endpoint}`;
    if (options.persist && (await hasV1Data(dataDir))) {
      options.log?.(
        `note: ${join(dataDir, "dynalite")} holds old local data (layout v1), unused with DYNAMODB_ENDPOINT; ` +
          `npm run migrate -- --data-dir ${dataDir} --to-endpoint ${endpoint} --to-table <table> copies it there`,
      );
    }
  }
  const simulate =
    options.tencentSimulator ??
    (options.env.TENCENT_SECRET_KEY === undefined && options.env.TENCENT_API_BASE_URL === undefined);
  let tencent: TencentSimulator | undefined;
  let env: Record<string, string | undefined> = embedded
    ? // The embedded store rates edits in memory (this one process) unless told otherwise (above).
      {
        ...options.env,
        DYNAMODB_ENDPOINT: limiterDynamo?.endpoint,
        RATE_LIMITER: options.env.RATE_LIMITER ?? "memory",
      }
    : { ...options.env, DYNAMODB_ENDPOINT: endpoint };
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
  if (limiterDynamo) await ensureTable(limiterDynamo.endpoint, config.tableName);
  if (endpoint !== undefined) {
    // The store is ready before the server listens: the table exists, is ACTIVE, and has layout v2.
    await ensureTable(endpoint, config.tableName);
    const documents = createDocumentClient({ region: config.region, endpoint });
    const v1 = await isV1Table(documents, config.tableName).finally(() => documents.destroy());
    if (v1) {
      throw new StoreSetupError(
        `table ${config.tableName} at ${endpoint} has the old storage layout (v1): migrate it into a new table ` +
          `(npm run migrate -- --endpoint ${endpoint} --table ${config.tableName} --to-endpoint ${endpoint} ` +
          `--to-table <new name>) and set TABLE_NAME to that table`,
      );
    }
  }

  const spool = new FileSpool(join(dataDir, "spool"));
  const deps = createDependencies(
    config,
    { fallback: spool, ...(embedded ? { store: embedded } : {}), ...options.overrides },
    editing,
  );
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
      .drain((entry) => deps.callbacks.replay(entry))
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
    storeDescription,
    ...(migration ? { migration } : {}),
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
      embedded?.close();
      await limiterDynamo?.close();
    },
  };
}
