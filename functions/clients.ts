import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoRateLimiter } from "./adapters/dynamodb/limiter.ts";
import { DynamoMessageStore } from "./adapters/dynamodb/store.ts";
import { FileSpool } from "./adapters/spool.ts";
import { SqsFallbackQueue, sendTask } from "./adapters/sqs.ts";
import { type Config, loadConfig } from "./config.ts";
import { DurableRecorder, type FallbackQueue } from "./core/durable.ts";
import { DEFAULT_EDIT_OPTIONS, EditService } from "./core/edits.ts";
import { StoreUnavailableError } from "./core/errors.ts";
import { type RateLimiter, type RateRule, SlidingWindowLimiter } from "./core/limiter.ts";
import type { ProviderName } from "./core/model.ts";
import type { CallbackProvider, ProviderEditor } from "./core/provider.ts";
import { MessageQueries } from "./core/queries.ts";
import { Recorder } from "./core/recorder.ts";
import type { MessageStore } from "./core/store.ts";
import { logger } from "./logger.ts";
import { count } from "./metrics.ts";
import { createProviders } from "./providers/registry.ts";
import { secretsManagerReader, withSecrets } from "./secrets.ts";

/** Everything a handler needs, built once per cold start (on first use: importing a handler does no I/O). */
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

/**
 * How to edit: the providers' editors and their rate rule. Only the editor function passes it, so the
 * recorder's bundle carries no REST client (see providers/editing.ts).
 */
export interface Editing {
  createEditors(config: Config, limiter: RateLimiter): ReadonlyMap<ProviderName, ProviderEditor>;
  rateRule(config: Config): (key: string) => RateRule;
}

export function createDependencies(
  config: Config,
  overrides: Partial<Dependencies> = {},
  editing?: Editing,
): Dependencies {
  const documents = createDocumentClient({
    region: config.region,
    ...(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {}),
    // Inside a 2 s callback budget one retry is all there is time for; then the fallback takes over.
    maxAttempts: 2,
    requestTimeoutMs: Math.ceil(config.callbackStoreBudgetMs / 2),
  });
  const store =
    overrides.store ??
    new DynamoMessageStore(
      documents,
      config.tableName,
      config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {},
    );
  // Short timeouts: the fallback queue is the recorder's last resort inside Tencent's 2 s.
  const sqs =
    config.fallbackQueueUrl || config.editQueueUrl
      ? new SQSClient({
          region: config.region,
          maxAttempts: 2,
          requestHandler: { connectionTimeout: 300, requestTimeout: 600 },
        })
      : undefined;
  const providers = overrides.providers ?? createProviders(config);
  const queries = new MessageQueries(store, providers);
  const rule = editing?.rateRule(config) ?? (() => ({ limit: 1, windowMs: 1000 }));
  const limiter =
    overrides.limiter ??
    (config.rateLimiter === "dynamodb"
      ? new DynamoRateLimiter(documents, config.tableName, rule)
      : new SlidingWindowLimiter(rule));
  const editors = overrides.editors ?? editing?.createEditors(config, limiter) ?? new Map();
  const edits: EditService =
    overrides.edits ??
    new EditService(store, editors, queries, {
      ...DEFAULT_EDIT_OPTIONS,
      waitBudgetMs: config.editWaitMs,
      idempotencyTtlMs: config.idempotencyTtlMs,
      scheduleResolve: async (id, delayMs) => {
        if (sqs && config.editQueueUrl) {
          // In AWS a delayed queue message survives this instance (awaited: a frozen Lambda sends nothing).
          await sendTask(sqs, config.editQueueUrl, { action: "resolve", target: { id } }, delayMs).catch(
            (error: unknown) => logger.warn("could not schedule resolution", { id, error: String(error) }),
          );
          return;
        }
        setTimeout(() => {
          edits
            .resolve(id)
            .catch((error: unknown) => logger.warn("resolution failed", { id, error: String(error) }));
        }, delayMs).unref();
      },
    });
  const recorder =
    overrides.recorder ??
    new Recorder(
      store,
      undefined,
      edits.echoMatcher((provider) => providers.get(provider)?.operator),
    );
  const fallback = overrides.fallback ?? createFallback(config, sqs);
  const durable =
    overrides.durable ??
    new DurableRecorder(recorder, fallback, config.callbackStoreBudgetMs, (reason) => {
      count("CallbackSpooled");
      logger.warn("store failed, callback spooled", { reason });
    });
  return { config, store, providers, recorder, durable, fallback, queries, limiter, editors, edits };
}

/** Locally: the spool under DATA_DIR. In AWS: the fallback SQS queue the CDK stack creates. */
function createFallback(config: Config, sqs: SQSClient | undefined): FallbackQueue {
  if (sqs && config.fallbackQueueUrl) return new SqsFallbackQueue(sqs, config.fallbackQueueUrl);
  if (config.dataDir !== undefined) return new FileSpool(join(config.dataDir, "spool"));
  return {
    enqueue: async () => {
      throw new StoreUnavailableError("the store failed and no durable fallback is configured");
    },
  };
}

let current: Promise<Dependencies> | undefined;

/**
 * The process-wide dependencies: secrets read, config parsed and clients created on first use, then
 * reused by every invocation of a warm Lambda. A failure is not cached, so the next call retries.
 */
export function dependencies(editing?: Editing): Promise<Dependencies> {
  current ??= (async () => {
    const env = await withSecrets(process.env, secretsManagerReader(process.env.AWS_REGION ?? "us-east-1"));
    const deps = createDependencies(loadConfig(env), {}, editing);
    if (deps.config.tencent && deps.config.tencent.callbackToken === undefined) {
      logger.warn("TENCENT_CALLBACK_TOKEN is not set: Tencent callbacks are accepted unsigned");
    }
    return deps;
  })().catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

/** Tests and the local stack install their own dependencies (same handlers, other store or clock). */
export function setDependencies(deps: Dependencies | undefined): void {
  current = deps ? Promise.resolve(deps) : undefined;
}
