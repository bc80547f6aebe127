import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FileSpool } from "../functions/adapters/spool.ts";
import { createDependencies, type Dependencies, setDependencies } from "../functions/clients.ts";
import { type Config, loadConfig } from "../functions/config.ts";
import { handler as editor } from "../functions/editor.ts";
import { handler as recorder } from "../functions/recorder.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "./dynamo.ts";
import { type LambdaHandler, type RunningServer, startLocalServer } from "./server.ts";

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
}

export interface LocalStack {
  readonly url: string;
  readonly config: Config;
  readonly deps: Dependencies;
  readonly spool: FileSpool;
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
  const config = loadConfig({ ...options.env, DYNAMODB_ENDPOINT: endpoint });
  // The store is ready before the server listens: the table exists and is ACTIVE.
  await ensureTable(endpoint, config.tableName);

  const spool = new FileSpool(join(dataDir, "spool"));
  const deps = createDependencies(config, { fallback: spool, ...options.overrides });
  setDependencies(deps);

  const server: RunningServer = await startLocalServer({
    host: options.host,
    port: options.port,
    apiToken: options.apiToken,
    handlers: { recorder: recorder as LambdaHandler, editor: editor as LambdaHandler },
    maxBodyBytes: config.callbackMaxBytes,
  });

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
    drain,
    close: async () => {
      clearInterval(timer);
      await draining?.catch(() => {});
      await server.close();
      setDependencies(undefined);
      await dynamo?.close();
    },
  };
}
