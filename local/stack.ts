import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { FileSpool } from "../functions/adapters/spool.ts";
import { SqliteStore, sqlitePath } from "../functions/adapters/sqlite/store.ts";
import { createDependencies, type Dependencies } from "../functions/clients.ts";
import { type Config, loadConfig } from "../functions/config.ts";
import type { ProviderName } from "../functions/core/model.ts";
import { RuleSet } from "../functions/core/rules/engine.ts";
import type { RulesHolder } from "../functions/core/rules/hook.ts";
import { consumeQueue, handler as editor } from "../functions/editor.ts";
import { logger } from "../functions/logger.ts";
import { editingFor } from "../functions/providers/editing.ts";
import { EDITOR_PROVIDERS } from "../functions/providers/editor-providers.ts";
import type { EditorManifest } from "../functions/providers/manifest.ts";
import { PROVIDERS } from "../functions/providers/recorder-providers.ts";
import { handler as recorder } from "../functions/recorder.ts";
import { loadRulesFile, watchRulesFile } from "../functions/rules-file.ts";
import { setDependencies } from "../functions/wiring/cold-start.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "./dynamo.ts";
import { LOCAL_EVENTS_PATH, localEventsRoute } from "./events.ts";
import type { MigrationReport } from "./layout-v1.ts";
import { hasV1Data, isV1Table, migrateDataDir } from "./migrate.ts";
import { LOCAL_QUEUE_PATH, localQueueRoute } from "./queue.ts";
import { type LambdaHandler, type RunningServer, startLocalServer } from "./server.ts";
import type { NeteaseSimulator, NeteaseSimulatorOptions } from "./simulators/netease/api.ts";
import { type RunningSimulator, SIMULATORS, type SimulatorManifest } from "./simulators/registry.ts";
import type { TencentSimulator, TencentSimulatorOptions } from "./simulators/tencent/api.ts";

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
  /**
   * Providers beyond the registered ones (a test's): each manifest joins config, the registries and the
   * routes (`/callbacks/<name>`), and its simulator, if any, starts like the built-in ones.
   */
  readonly providers?: readonly LocalProvider[];
  /** Any provider's simulator by name: run it or not, or its options (`tencentSimulator` is `tencent`). */
  readonly simulators?: Readonly<Record<string, boolean | Readonly<Record<string, unknown>>>>;
}

/** A provider the local stack runs besides the registered ones: its manifest and its local simulator. */
export interface LocalProvider {
  readonly manifest: EditorManifest;
  // biome-ignore lint/suspicious/noExplicitAny: each simulator has its own running type
  readonly simulator?: SimulatorManifest<any>;
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
  /** Every simulator the stack runs, by provider name. */
  readonly simulators: ReadonlyMap<ProviderName, RunningSimulator>;
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
  let env: Record<string, string | undefined> = embedded
    ? // The embedded store rates edits in memory (this one process) unless told otherwise (above).
      {
        ...options.env,
        DYNAMODB_ENDPOINT: limiterDynamo?.endpoint,
        RATE_LIMITER: options.env.RATE_LIMITER ?? "memory",
      }
    : { ...options.env, DYNAMODB_ENDPOINT: endpoint };
  const extra = options.providers ?? [];
  const choices: Record<string, boolean | Readonly<Record<string, unknown>> | undefined> = {
    tencent: options.tencentSimulator,
    netease: options.neteaseSimulator,
    ...options.simulators,
  };
  const simulators = new Map<ProviderName, { manifest: SimulatorManifest; running: RunningSimulator }>();
  const closeSimulators = () => Promise.all([...simulators.values()].map(({ running }) => running.close()));
  try {
    for (const manifest of [...SIMULATORS, ...extra.flatMap((p) => (p.simulator ? [p.simulator] : []))]) {
      // Each decides from the environment as configured, before any simulator replaced a value.
      const choice = choices[manifest.name] ?? manifest.simulateByDefault(options.env);
      if (choice === false) continue;
      const started = await manifest.start(env, typeof choice === "object" ? choice : {});
      simulators.set(manifest.name, { manifest, running: started.simulator });
      env = { ...env, ...started.env };
    }
  } catch (error: unknown) {
    await closeSimulators();
    throw error;
  }
  const tencent = simulators.get("tencent")?.running as TencentSimulator | undefined;
  const netease = simulators.get("netease")?.running as NeteaseSimulator | undefined;
  const manifests = extra.map((provider) => provider.manifest);
  let config: Config;
  try {
    config = loadConfig(env, [...PROVIDERS, ...manifests]);
  } catch (error: unknown) {
    await closeSimulators();
    throw error;
  }
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

  // Rules (IM_EDIT_RULES): a bad file stops the start (RulesError names the rule, field and reason); once
  // running, the file is watched and a good new version replaces the set, a bad one keeps the last good.
  const rulesFile = config.rulesFile;
  let ruleSet: RuleSet;
  try {
    ruleSet = rulesFile === undefined ? RuleSet.EMPTY : loadRulesFile(rulesFile);
  } catch (error: unknown) {
    await closeSimulators();
    throw error;
  }
  const rules: RulesHolder = { current: () => ruleSet };
  const stopWatchingRules =
    rulesFile === undefined
      ? undefined
      : watchRulesFile(
          rulesFile,
          (next) => {
            ruleSet = next;
            logger.info("rules reloaded", { file: rulesFile, rules: next.rules.length });
          },
          (error) =>
            logger.warn("rules file not reloaded: the last good rules stay in force", {
              problem: error.message,
            }),
        );

  const spool = new FileSpool(join(dataDir, "spool"));
  const deps = createDependencies(
    config,
    { fallback: spool, rules, ...(embedded ? { store: embedded } : {}), ...options.overrides },
    editingFor([...EDITOR_PROVIDERS, ...manifests]),
  );
  setDependencies(deps);

  const server: RunningServer = await startLocalServer({
    host: options.host,
    port: options.port,
    apiToken: options.apiToken,
    handlers: { recorder: recorder as LambdaHandler, editor: editor as LambdaHandler },
    maxBodyBytes: config.callbackMaxBytes,
    // EditRequested in, as `aws events put-events` would send it through the stack's rule (see events.ts).
    // The edit queue's deliveries, one message at a time, as the worker takes them (dead letters replay so).
    localRoutes: {
      [LOCAL_EVENTS_PATH]: localEventsRoute(editor),
      [LOCAL_QUEUE_PATH]: localQueueRoute(consumeQueue, () => deps.deadLetters.edit),
    },
  });

  // Jobs the last process left running or queued go on (their runners' heartbeats end with it).
  const resumed = await deps.jobs.takeOver();
  if (resumed.length > 0) options.log?.(`bulk jobs going on from their checkpoints: ${resumed.join(", ")}`);

  // Local dev convenience: the simulators' generated credentials (never real ones) for `npm run send`.
  const credentialsFile = join(dataDir, SIMULATORS_FILE);
  if (simulators.size > 0) {
    const credentials = {
      api: { url: server.url },
      ...Object.fromEntries(
        [...simulators].flatMap(([name, { manifest, running }]) => {
          const described = manifest.credentials?.(running, config);
          return described ? [[name, described]] : [];
        }),
      ),
    };
    await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  }
  for (const [name, { manifest, running }] of simulators) {
    manifest.connect(running, `${server.url}/callbacks/${name}`);
  }

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
    simulators: new Map([...simulators].map(([name, { running }]) => [name, running])),
    drain,
    close: async () => {
      clearInterval(timer);
      await deps.jobs.runner.stop();
      stopWatchingRules?.();
      await draining?.catch(() => {});
      await server.close();
      // Forwards under way finish; what is left stays in DATA_DIR/forwards for the next start.
      await deps.relay.queue?.close?.();
      await deps.relay.forwarder.close?.();
      await closeSimulators();
      await rm(credentialsFile, { force: true });
      setDependencies(undefined);
      embedded?.close();
      await limiterDynamo?.close();
    },
  };
}
