import { join } from "node:path";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoMessageStore } from "./adapters/dynamodb/store.ts";
import { FileSpool } from "./adapters/spool.ts";
import { type Config, loadConfig } from "./config.ts";
import { DurableRecorder, type FallbackQueue } from "./core/durable.ts";
import { DEFAULT_EDIT_OPTIONS, EditService } from "./core/edits.ts";
import { StoreUnavailableError } from "./core/errors.ts";
import { type RateLimiter, SlidingWindowLimiter } from "./core/limiter.ts";
import type { ProviderName } from "./core/model.ts";
import type { CallbackProvider, ProviderEditor } from "./core/provider.ts";
import { MessageQueries } from "./core/queries.ts";
import { Recorder } from "./core/recorder.ts";
import type { MessageStore } from "./core/store.ts";
import { logger } from "./logger.ts";
import { createEditors, createProviders, rateRule } from "./providers/registry.ts";

/** Everything a handler needs, built once per cold start (lazily, so importing a handler does no I/O). */
export interface Dependencies {
  readonly config: Config;
  readonly store: MessageStore;
  readonly providers: ReadonlyMap<ProviderName, CallbackProvider>;
  readonly recorder: Recorder;
  readonly durable: DurableRecorder;
  readonly fallback: FallbackQueue;
  readonly queries: MessageQueries;
  readonly limiter: RateLimiter;
  readonly editors: ReadonlyMap<ProviderName, ProviderEditor>;
  readonly edits: EditService;
}

export function createDependencies(config: Config, overrides: Partial<Dependencies> = {}): Dependencies {
  const store =
    overrides.store ??
    new DynamoMessageStore(
      createDocumentClient({
        region: config.region,
        ...(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {}),
        // Inside a 2 s callback budget one retry is all there is time for; then the spool takes over.
        maxAttempts: 2,
        requestTimeoutMs: Math.ceil(config.callbackStoreBudgetMs / 2),
      }),
      config.tableName,
      config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {},
    );
  const providers = overrides.providers ?? createProviders(config);
  const queries = new MessageQueries(store, providers);
  const limiter = overrides.limiter ?? new SlidingWindowLimiter(rateRule(config));
  const editors = overrides.editors ?? createEditors(config, limiter);
  const edits: EditService =
    overrides.edits ??
    new EditService(store, editors, queries, {
      ...DEFAULT_EDIT_OPTIONS,
      waitBudgetMs: config.editWaitMs,
      idempotencyTtlMs: config.idempotencyTtlMs,
      // In-process timer: enough for the local stack and a warm Lambda; an edit or the echo also resolves.
      scheduleResolve: (id, delayMs) => {
        setTimeout(() => {
          edits
            .resolve(id)
            .catch((error: unknown) => logger.warn("resolution failed", { id, error: String(error) }));
        }, delayMs).unref();
      },
    });
  const recorder = overrides.recorder ?? new Recorder(store, undefined, edits.echoMatcher());
  const fallback = overrides.fallback ?? createFallback(config);
  const durable =
    overrides.durable ??
    new DurableRecorder(recorder, fallback, config.callbackStoreBudgetMs, (reason) =>
      logger.warn("store failed, callback spooled", { reason }),
    );
  return { config, store, providers, recorder, durable, fallback, queries, limiter, editors, edits };
}

/** Locally: the spool under DATA_DIR. In AWS the CDK stack provides an SQS fallback (see infra/). */
function createFallback(config: Config): FallbackQueue {
  if (config.dataDir !== undefined) return new FileSpool(join(config.dataDir, "spool"));
  return {
    enqueue: async () => {
      throw new StoreUnavailableError("the store failed and no durable fallback is configured");
    },
  };
}

let current: Dependencies | undefined;

/** The process-wide dependencies: config parsed and clients created on first use, then reused. */
export function dependencies(): Dependencies {
  if (!current) {
    current = createDependencies(loadConfig(process.env));
    if (current.config.tencent && current.config.tencent.callbackToken === undefined) {
      logger.warn("TENCENT_CALLBACK_TOKEN is not set: Tencent callbacks are accepted unsigned");
    }
  }
  return current;
}

/** Tests and the local stack install their own dependencies (same handlers, other store or clock). */
export function setDependencies(deps: Dependencies | undefined): void {
  current = deps;
}
