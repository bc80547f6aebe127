import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DirectoryDeadLetters } from "./adapters/dead-letters/directory.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoRateLimiter } from "./adapters/dynamodb/limiter.ts";
import { DynamoStore } from "./adapters/dynamodb/store.ts";
import { fanOut, type NamedSink } from "./adapters/outbox/fan-out.ts";
import { InProcessOutbox } from "./adapters/outbox/in-process.ts";
import {
  createForwarder,
  createForwardQueue,
  FORWARD_QUEUE_SOURCE,
  type ForwardQueueObserver,
} from "./adapters/relay/index.ts";
import { FileSpool } from "./adapters/spool.ts";
import { InProcessWorkQueue } from "./adapters/work/in-process.ts";
import {
  type Config,
  ConfigError,
  describeFallback,
  loadConfig,
  type SecuredWork,
  type UnusableSecret,
} from "./config.ts";
import { BEFORE_SEND_DEADLINE_MS, type CallbackObserver, CallbackPipeline } from "./core/callbacks.ts";
import type { DeadLetterPolicy, DeadLetters } from "./core/dead-letters.ts";
import type { DecideHook } from "./core/decide.ts";
import { DurableRecorder, type FallbackQueue } from "./core/durable.ts";
import { DEFAULT_EDIT_OPTIONS, EditService } from "./core/edits.ts";
import { MisconfiguredError, StoreUnavailableError } from "./core/errors.ts";
import { deliverForward, forwardOf } from "./core/forwarding.ts";
import { jobRules } from "./core/jobs/rules.ts";
import { DEFAULT_JOB_OPTIONS, RUN_JOB } from "./core/jobs/runner.ts";
import { JobService } from "./core/jobs/service.ts";
import { type RateLimiter, type RateRule, SlidingWindowLimiter, systemClock } from "./core/limiter.ts";
import type { ProviderName } from "./core/model.ts";
import { type DomainEvent, guardedOutbox, NO_OUTBOX, type Outbox } from "./core/outbox.ts";
import type { CallbackProvider, ProviderEditor } from "./core/provider.ts";
import { MessageQueries } from "./core/queries.ts";
import { Recorder } from "./core/recorder.ts";
import type { Forward, Forwarder, ForwardQueue } from "./core/relay.ts";
import { type AppRelayObserver, createAppRelay } from "./core/relay-hook.ts";
import {
  AfterSendTrigger,
  APPLY_RULES,
  type ApplyRulesOutcome,
  type AutoEditsObserver,
  applyRules,
} from "./core/rules/auto-edits.ts";
import { RuleSet, RulesError } from "./core/rules/engine.ts";
import { DEFAULT_RULES_BUDGET_MS, fixedRules, type RulesHolder, rulesHook } from "./core/rules/hook.ts";
import type { Store } from "./core/store.ts";
import type { WorkQueue } from "./core/work.ts";
import { failureReason } from "./http/sqs.ts";
import { logger } from "./logger.ts";
import { count, MISCONFIGURED_METRIC } from "./metrics.ts";
import { createProviders } from "./providers/registry.ts";
import { loadRulesFile } from "./rules-file.ts";
import { secretsManagerReader, withSecrets } from "./secrets.ts";

/** Everything a handler needs, built once per cold start (on first use: importing a handler does no I/O). */
export interface Dependencies {
  readonly config: Config;
  readonly store: Store;
  readonly providers: ReadonlyMap<ProviderName, CallbackProvider>;
  readonly recorder: Recorder;
  readonly durable: DurableRecorder;
  readonly fallback: FallbackQueue;
  readonly queries: MessageQueries;
  readonly limiter: RateLimiter;
  readonly editors: ReadonlyMap<ProviderName, ProviderEditor>;
  readonly edits: EditService;
  /**
   * The *publish* stage: EventBridge with EVENT_BUS_NAME, SQS with EVENTS_QUEUE_URL, printed or POSTed with
   * IM_EDIT_EVENTS_URL, in-process locally (all that apply, fanned out), else none (events off).
   */
  readonly outbox: Outbox;
  /** The *decide* stage's before-send hooks, in order: none by default (rules and the relay add theirs). */
  readonly hooks: readonly DecideHook[];
  /** The callback path: verify → interpret → decide → record → publish. */
  readonly callbacks: CallbackPipeline;
  /** Work for later (unknown outcomes, after-send rules, job slices): the edit queue, or in-process. */
  readonly work: WorkQueue;
  /**
   * The rules in force (IM_EDIT_RULES, loaded once per cold start; none without it): a holder, so the
   * local stack swaps the set when the file changes.
   */
  readonly rules: RulesHolder;
  /** The after-send rules on one recorded message (the `applyRules` task, queued by the callback path). */
  readonly applyRules: (id: string) => Promise<ApplyRulesOutcome>;
  /** Bulk jobs and reconciliation: created over `/v1/edits`, run as `runJob` tasks on `work`. */
  readonly jobs: JobService;
  /**
   * Where each queue's consumer puts what it gives up on, with the reason: the queues' DLQs in AWS
   * (EDIT_DLQ_URL, FALLBACK_DLQ_URL), `DATA_DIR/dead-letters` locally (`npm run redrive`).
   */
  readonly deadLetters: {
    readonly edit: DeadLetterPolicy;
    readonly fallback: DeadLetterPolicy;
    /** The forward queue's (FORWARD_DLQ_URL; retries come back through FORWARD_QUEUE_URL's visibility). */
    readonly forward: DeadLetterPolicy;
  };
  /**
   * The relay to the apps' own callback handlers (issue 16): the forward queue (SQS with FORWARD_QUEUE_URL,
   * else DATA_DIR/forwards delivered in this process, else memory; only while some provider forwards),
   * the forwarder, and one asynchronous delivery attempt (`deliverForward` bound to the forward's
   * provider's relay, FORWARD_TIMEOUT_MS): what the forwarder function and the local queue run.
   */
  readonly relay: {
    readonly queue?: ForwardQueue & { close?(): Promise<void> };
    readonly forwarder: Forwarder & { close?(): Promise<void> };
    deliver(forward: Forward): Promise<void>;
  };
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
    new DynamoStore(
      documents,
      config.tableName,
      config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {},
    );
  const sqs =
    config.fallbackQueueUrl ||
    config.editQueueUrl ||
    config.editDlqUrl ||
    config.fallbackDlqUrl ||
    config.forwardQueueUrl ||
    config.forwardDlqUrl
      ? lazySqs(config.region)
      : undefined;
  const deadLetters = overrides.deadLetters ?? createDeadLetters(config, sqs);
  const providers = overrides.providers ?? guardProviders(createProviders(config), config.unusableSecrets);
  const queries = new MessageQueries(store, providers);
  const relay = overrides.relay ?? createRelay(config, providers, sqs, deadLetters.forward);
  // The app decides a before-send first (issue 16), when some provider forwards to the app's handler.
  const appRelay = [...providers.values()].some((provider) => provider.relay)
    ? createAppRelay({
        relayOf: (provider) => providers.get(provider)?.relay,
        forwarder: relay.forwarder,
        timeoutMs: config.callbackForwardTimeoutMs,
        fallback: config.callbackForwardFallback,
        observer: appRelayObserver(config),
      })
    : undefined;
  const outbox = overrides.outbox ?? createOutbox(config);
  const work = overrides.work ?? createWorkQueue(config, sqs, deadLetters.edit.letters);
  const rule = editing?.rateRule(config) ?? (() => ({ limit: 1, windowMs: 1000 }));
  const limiter =
    overrides.limiter ??
    (config.rateLimiter === "dynamodb"
      ? new DynamoRateLimiter(documents, config.tableName, rule, {
          interactiveReserve: config.interactiveReserve,
        })
      : new SlidingWindowLimiter(rule, undefined, { interactiveReserve: config.interactiveReserve }));
  const editors =
    overrides.editors ??
    (editing ? guardEditors(editing.createEditors(config, limiter), config.unusableSecrets) : new Map());
  const edits: EditService =
    overrides.edits ??
    new EditService(store, editors, queries, {
      ...DEFAULT_EDIT_OPTIONS,
      outbox,
      limiter,
      waitBudgetMs: config.editWaitMs,
      idempotencyTtlMs: config.idempotencyTtlMs,
      // In AWS a delayed queue message survives this instance (awaited: a frozen Lambda sends nothing).
      scheduleResolve: (id, delayMs) =>
        work
          .enqueue({ action: "resolve", target: { id } }, delayMs)
          .catch((error: unknown) =>
            logger.warn("could not schedule resolution", { id, error: String(error) }),
          ),
    });
  if (work instanceof InProcessWorkQueue) {
    work.register("resolve", async (task) => {
      const id = (task.target as { id?: unknown } | undefined)?.id;
      if (typeof id === "string") await edits.resolve(id);
    });
  }
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
  const rules = overrides.rules ?? fixedRules(loadRules(config));
  const codecOf = (provider: ProviderName) => config.manifests.find((m) => m.name === provider)?.codec;
  const runRules =
    overrides.applyRules ??
    ((id: string) => applyRules({ rules, codecOf, store, edits, observer: AUTO_EDITS_OBSERVER }, id));
  if (work instanceof InProcessWorkQueue) {
    work.register(APPLY_RULES, async (task) => {
      const id = (task.target as { id?: unknown } | undefined)?.id;
      if (typeof id === "string") await runRules(id);
    });
  }
  // Before-send rules answer the callback after the app's own hook (issue 16); after-send rules are
  // queued, for the editor where it can run them (in-process it needs the editors: the local stack).
  const hooks = overrides.hooks ?? [
    ...(appRelay ? [appRelay.hook] : []),
    rulesHook({ rules, codecOf, observer: RULES_HOOK_OBSERVER }),
  ];
  const afterSend =
    work instanceof InProcessWorkQueue && editors.size === 0
      ? undefined
      : new AfterSendTrigger({ rules, codecOf, work, observer: AUTO_EDITS_OBSERVER });
  if (!afterSend && rules.current().on("after-send").length > 0) {
    logger.warn(
      "after-send rules are loaded but cannot run here: no edit queue (EDIT_QUEUE_URL) and no editor",
    );
  }
  const jobs =
    overrides.jobs ??
    new JobService({
      store,
      queries,
      edits,
      editors,
      codecOf,
      rules: jobRules(rules),
      work,
      outbox,
      clock: systemClock,
      options: { ...DEFAULT_JOB_OPTIONS, sliceMs: config.jobSliceMs, concurrency: config.jobConcurrency },
      onError: (message, fields) => logger.warn(message, fields),
    });
  if (work instanceof InProcessWorkQueue) {
    work.register(RUN_JOB, async (task) => {
      if (typeof task.jobId === "string") await jobs.run(task.jobId);
    });
  }
  const callbacks =
    overrides.callbacks ??
    new CallbackPipeline({
      durable,
      outbox,
      hooks,
      observer: CALLBACK_OBSERVER,
      ...(afterSend ? { afterSend } : {}),
      ...(appRelay
        ? {
            // The app's budget, then the rules'; the store gets what is left of the before-send's 1.8 s.
            decideBudgetMs: config.callbackForwardTimeoutMs + DEFAULT_RULES_BUDGET_MS,
            relay: {
              ...(relay.queue ? { queue: relay.queue } : {}),
              forwardOf,
              answer: appRelay.answer,
              beforeSendDeadlineMs: BEFORE_SEND_DEADLINE_MS,
            },
          }
        : {}),
    });
  return {
    config,
    store,
    providers,
    recorder,
    durable,
    fallback,
    queries,
    limiter,
    editors,
    edits,
    outbox,
    hooks,
    callbacks,
    work,
    rules,
    applyRules: runRules,
    jobs,
    deadLetters,
    relay,
  };
}

/**
 * The relay's transports: the forwarder (undici, loaded on the first forward) and, while some provider
 * forwards, the forward queue: SQS with FORWARD_QUEUE_URL (the forwarder function delivers), else the
 * local queue delivering in this process (DATA_DIR/forwards, else memory), dead-lettering what it gives up.
 */
function createRelay(
  config: Config,
  providers: ReadonlyMap<ProviderName, CallbackProvider>,
  sqs: LazySqs | undefined,
  policy: DeadLetterPolicy,
): Dependencies["relay"] {
  const forwarder = createForwarder({ maxResponseBytes: config.forwardMaxResponseBytes });
  const deliver = (forward: Forward) =>
    deliverForward(forward, {
      relay: providers.get(forward.provider)?.relay,
      forwarder,
      timeoutMs: config.forwardTimeoutMs,
    });
  if (![...providers.values()].some((provider) => provider.relay)) return { forwarder, deliver };
  const queue = createForwardQueue({
    ...(config.forwardQueueUrl !== undefined ? { queueUrl: config.forwardQueueUrl } : {}),
    ...(sqs ? { sqs } : {}),
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    deliver,
    maxAttempts: config.forwardQueueMaxReceives,
    ...(policy.letters ? { deadLetters: policy.letters } : {}),
    ...LOCAL_FORWARD_OBSERVER,
  });
  return { queue, forwarder, deliver };
}

/** The local forward queue's retries and dead letters: logged (never the body), a misconfiguration counted. */
const LOCAL_FORWARD_OBSERVER: ForwardQueueObserver = {
  onRetry: (forward, attempts, reason, delayMs) =>
    logger.info("forward retried", {
      provider: forward.provider,
      forwardId: forward.id,
      attempts,
      reason: reason.code,
      error: reason.message,
      delayMs,
    }),
  onDeadLettered: (forward, reason) => {
    const fields = {
      ...(forward ? { provider: forward.provider, forwardId: forward.id } : {}),
      reason: reason.code,
      error: reason.message,
    };
    if (reason.code === "misconfigured") {
      logger.error("forward refused: the app's forward secret is unusable", fields);
      count(MISCONFIGURED_METRIC);
    } else logger.warn("forward dead-lettered (npm run redrive -- --replay delivers it again)", fields);
  },
};

/**
 * A before-send that got the fallback policy: logged (no body, no query, no secret) and counted
 * `ForwardFallback` (its reason a field); an unusable forward secret at error level, counted `Misconfigured`.
 */
function appRelayObserver(config: Config): AppRelayObserver {
  const policy = describeFallback(config.callbackForwardFallback);
  return {
    fellBack: (provider, reason, detail) => {
      count("ForwardFallback", 1, { reason });
      if (reason === "misconfigured") {
        logger.error("before-send forward refused: the app's forward secret is unusable", {
          provider,
          reason,
          fallback: policy,
        });
        count(MISCONFIGURED_METRIC);
        return;
      }
      logger.warn("before-send forward fell back to the policy", {
        provider,
        reason,
        detail,
        fallback: policy,
      });
    },
  };
}

/** The rules file (IM_EDIT_RULES), validated: a bad one throws RulesError naming the rule, field and reason. */
function loadRules(config: Config): RuleSet {
  return config.rulesFile === undefined ? RuleSet.EMPTY : loadRulesFile(config.rulesFile);
}

/** What the before-send rules skip: logged and counted, the message goes out as far as the rules got. */
const RULES_HOOK_OBSERVER = {
  ruleSkipped: (ruleId: string, reason: string) => {
    count("RuleSkipped");
    logger.info("rule skipped", { ruleId, reason, on: "before-send" });
  },
  timedOut: (ran: number) => {
    count("RulesTimedOut");
    logger.warn("before-send rules ran out of their budget", { ran });
  },
};

/** What the after-send rules do and skip: counted, and logged without content. */
const AUTO_EDITS_OBSERVER: AutoEditsObserver = {
  enqueueFailed: (id, error) => {
    count("RuleEnqueueFailed");
    logger.warn("after-send rules could not be queued", { id, error: `${error.name}: ${error.message}` });
  },
  skipped: (id, ruleId, reason) => {
    count("RuleSkipped");
    logger.info("rule skipped", {
      id,
      ...(ruleId !== undefined ? { ruleId } : {}),
      reason,
      on: "after-send",
    });
  },
  applied: (id, ruleId, version) => {
    count("RuleApplied");
    logger.info("rule applied", { id, ruleId, version });
  },
};

/**
 * The edit queue in AWS (EDIT_QUEUE_URL); in-process otherwise, where nothing redelivers a failed task:
 * it goes to the dead letters (locally `DATA_DIR/dead-letters`, replayed by `npm run redrive -- --replay`).
 */
function createWorkQueue(config: Config, sqs: LazySqs | undefined, letters?: DeadLetters): WorkQueue {
  const queueUrl = config.editQueueUrl;
  if (sqs && queueUrl) {
    return {
      enqueue: async (task, delayMs) => {
        const { client, adapter } = await sqs();
        await adapter.sendTask(client, queueUrl, task, delayMs);
      },
    };
  }
  return new InProcessWorkQueue((task, error) => {
    logger.warn("queued work failed", { action: task.action, error: `${error.name}: ${error.message}` });
    letters
      ?.put(JSON.stringify(task), { ...failureReason(error), receiveCount: 1, source: "in-process" })
      .catch((thrown: unknown) =>
        logger.warn("failed work could not be dead-lettered", { action: task.action, error: String(thrown) }),
      );
  });
}

/**
 * Each queue's dead letters: its DLQ in AWS (EDIT_DLQ_URL, FALLBACK_DLQ_URL; SDK loaded on the first
 * letter), `DATA_DIR/dead-letters` locally, else none (a consumer then leaves what it gives up on to the
 * queue's redrive policy).
 */
function createDeadLetters(config: Config, sqs: LazySqs | undefined): Dependencies["deadLetters"] {
  const local =
    config.dataDir !== undefined ? new DirectoryDeadLetters(join(config.dataDir, "dead-letters")) : undefined;
  const letters = (queueUrl: string | undefined): DeadLetters | undefined => {
    if (sqs && queueUrl) {
      return {
        put: async (body, reason) => {
          const { client, adapter } = await sqs();
          await new adapter.SqsDeadLetters(client, queueUrl).put(body, reason);
        },
      };
    }
    return local;
  };
  const policy = (
    letters: DeadLetters | undefined,
    maxReceives: number,
    source: string,
  ): DeadLetterPolicy => ({
    ...(letters ? { letters } : {}),
    maxReceives,
    source,
  });
  // The worker may change its messages' visibility (it consumes the edit queue): a retry comes back soon.
  const editQueueUrl = config.editQueueUrl;
  const retryAfter =
    sqs && editQueueUrl
      ? async (receipt: string, seconds: number) => {
          const { client, adapter } = await sqs();
          await adapter.changeVisibility(client, editQueueUrl, receipt, seconds);
        }
      : undefined;
  // The forwarder function consumes the forward queue: its retries come back with backoff likewise.
  const forwardQueueUrl = config.forwardQueueUrl;
  const forwardRetryAfter =
    sqs && forwardQueueUrl
      ? async (receipt: string, seconds: number) => {
          const { client, adapter } = await sqs();
          await adapter.changeVisibility(client, forwardQueueUrl, receipt, seconds);
        }
      : undefined;
  return {
    edit: {
      ...policy(letters(config.editDlqUrl), config.editQueueMaxReceives, "edit-queue"),
      ...(retryAfter ? { retryAfter } : {}),
    },
    fallback: policy(letters(config.fallbackDlqUrl), config.fallbackQueueMaxReceives, "fallback-queue"),
    forward: {
      ...policy(letters(config.forwardDlqUrl), config.forwardQueueMaxReceives, FORWARD_QUEUE_SOURCE),
      ...(forwardRetryAfter ? { retryAfter: forwardRetryAfter } : {}),
    },
  };
}

/**
 * Fail closed. A provider whose callback secret is unusable answers every callback with 503
 * `misconfigured` (logged at error level and counted: the stack alarms on it) instead of verifying
 * without the secret; reads by natural key keep working where the provider is built. Its other
 * providers are untouched: one blank secret does not take the whole function down.
 */
function guardProviders(
  providers: ReadonlyMap<ProviderName, CallbackProvider>,
  unusable: readonly UnusableSecret[],
): ReadonlyMap<ProviderName, CallbackProvider> {
  const guarded = new Map(providers);
  for (const secret of unusable) {
    if (!secret.refuses.includes("callbacks")) continue;
    const inner = providers.get(secret.provider);
    const refuse = (): never => {
      throw refusal(secret, "callbacks");
    };
    guarded.set(secret.provider, {
      name: secret.provider,
      appId: inner?.appId ?? secret.appId,
      ...(inner?.operator !== undefined ? { operator: inner.operator } : {}),
      // Never sent: verify throws first.
      ack: inner?.ack ?? { status: 503, body: {} },
      reply: () => inner?.ack ?? { status: 503, body: {} },
      verify: refuse,
      interpret: refuse,
      lookup: inner
        ? (appId, params) => inner.lookup(appId, params)
        : () => {
            // Not built without its secret (NetEase): lists still work, natural-key lookups do not.
            throw refusal(secret, "lookups");
          },
    });
  }
  return guarded;
}

/**
 * Likewise for edits: a provider whose signing secret is unusable refuses every edit with 503
 * `misconfigured` before any lease, intent or provider call (never a request signed with an empty key).
 */
function guardEditors(
  editors: ReadonlyMap<ProviderName, ProviderEditor>,
  unusable: readonly UnusableSecret[],
): ReadonlyMap<ProviderName, ProviderEditor> {
  const guarded = new Map(editors);
  for (const secret of unusable) {
    if (!secret.refuses.includes("edits")) continue;
    const refuse = (): never => {
      throw refusal(secret, "edits");
    };
    guarded.set(secret.provider, {
      name: secret.provider,
      appId: secret.appId,
      parseChange: refuse,
      plan: refuse,
      planRestore: refuse,
      notRestorable: () => `editing ${secret.provider} messages is refused: a secret is unusable`,
      checkEditable: refuse,
      modify: async () => refuse(),
      readBack: async () => refuse(),
    });
  }
  return guarded;
}

/** Logs (error level) and counts a refusal, and returns the error to throw; the caller learns no more. */
function refusal(secret: UnusableSecret, work: SecuredWork | "lookups"): MisconfiguredError {
  logger.error(
    `${secret.provider} ${work} refused: ${secret.variable} is unusable`,
    describeUnusable(secret),
  );
  count(MISCONFIGURED_METRIC);
  return new MisconfiguredError(
    `${secret.provider} ${work} are refused: this deployment's ${secret.provider} configuration is incomplete`,
  );
}

const describeUnusable = (secret: UnusableSecret) => ({
  variable: secret.variable,
  provider: secret.provider,
  appId: secret.appId,
  refuses: secret.refuses,
  reason: secret.reason === "blank" ? "configured but empty or whitespace" : "missing (required in AWS)",
});

type LazySqs = () => Promise<{ client: SQSClient; adapter: typeof import("./queues.ts") }>;

/**
 * The SQS client, made on first use: only a failing store (the recorder's fallback) and an unknown
 * outcome (the editor's delayed resolution) send to a queue, so loading the SQS SDK waits for them
 * instead of lengthening every cold start (`npm run bench -- bundle`).
 */
function lazySqs(region: string): LazySqs {
  let loaded: ReturnType<LazySqs> | undefined;
  return () => {
    loaded ??= import("./queues.ts").then((adapter) => ({
      client: adapter.createSqsClient(region),
      adapter,
    }));
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
}

/** Locally: the spool under DATA_DIR. In AWS: the fallback SQS queue the CDK stack creates. */
function createFallback(config: Config, sqs: LazySqs | undefined): FallbackQueue {
  const queueUrl = config.fallbackQueueUrl;
  if (sqs && queueUrl) {
    return {
      enqueue: async (entry) => {
        const { client, adapter } = await sqs();
        await new adapter.SqsFallbackQueue(client, queueUrl).enqueue(entry);
      },
    };
  }
  if (config.dataDir !== undefined) return new FileSpool(join(config.dataDir, "spool"));
  return {
    enqueue: async () => {
      throw new StoreUnavailableError("the store failed and no durable fallback is configured");
    },
  };
}

/** How long a callback waits for its events to be published before it answers anyway (reported). */
const PUBLISH_BUDGET_MS = 300;

const reportLost = (error: Error, events: readonly DomainEvent[]): void => {
  count("PublishFailed", events.length);
  logger.warn("events not published (at most once: they are not retried)", {
    error: `${error.name}: ${error.message}`,
    events: events.map((event) => event.eventId),
  });
};

/** What the callback pipeline skips or loses: logged and counted, never a failed callback. */
const CALLBACK_OBSERVER: CallbackObserver = {
  hookSkipped: (hook, reason, error) => {
    count("DecideHookSkipped");
    logger.warn("before-send hook skipped", { hook, reason, error: `${error.name}: ${error.message}` });
  },
  replyFailed: (decision, error) => {
    count("DecideReplyFailed");
    logger.warn("decision cannot be answered: allowed as sent", { decision, error: error.message });
  },
  publishFailed: reportLost,
  forwardLost: (provider, error) => {
    count("ForwardLost");
    logger.error("forward lost: the app's handler will not get this callback from im-edit", {
      provider,
      error: `${error.name}: ${error.message}`,
    });
  },
  unread: (provider, error) =>
    logger.warn("callback not readable: forwarded to the app as received", {
      provider,
      error: `${error.name}: ${error.message}`,
    }),
};

/**
 * The *publish* stage's outbox: every configured sink gets every batch (fanOut). EVENT_BUS_NAME
 * (`-c events=eventbridge`): EventBridge, source `im-edit`; EVENTS_QUEUE_URL (`-c events=sqs`): SQS; their
 * SDKs are loaded on the first publish. IM_EDIT_EVENTS_URL: printed (`-`) or POSTed to a developer's URL.
 * Locally (DATA_DIR): in-process as well, each event logged at debug. None of them: events are off, the
 * default deployment (each message would cost one more request). Events leave the process without
 * content unless EVENTS_INCLUDE_CONTENT. Publishing never fails a callback or an edit: a failure or a
 * publish over its budget is logged and counted (`PublishFailed`), and delivery is at most once until
 * the relay issue's durable forward queue.
 */
function createOutbox(config: Config): Outbox {
  const includeContent = config.eventsIncludeContent;
  const sinks: NamedSink[] = [];
  const bus = config.eventBusName;
  if (bus !== undefined) {
    sinks.push({
      name: "eventbridge",
      outbox: lazyOutbox(() =>
        import("./adapters/outbox/eventbridge.ts").then((m) =>
          m.createEventBridgeOutbox(config.region, bus, { includeContent }),
        ),
      ),
    });
  }
  const queueUrl = config.eventsQueueUrl;
  if (queueUrl !== undefined) {
    sinks.push({
      name: "sqs",
      outbox: lazyOutbox(() =>
        import("./adapters/outbox/sqs.ts").then((m) =>
          m.createSqsOutbox(config.region, queueUrl, { includeContent }),
        ),
      ),
    });
  }
  const eventsUrl = config.eventsUrl;
  if (eventsUrl !== undefined) {
    sinks.push({
      name: "IM_EDIT_EVENTS_URL",
      outbox: lazyOutbox(() =>
        import("./adapters/outbox/http.ts").then((m) => m.eventsUrlOutbox(eventsUrl, { includeContent })),
      ),
    });
  }
  // Sinks beyond this process answer within the publish budget; in-process subscribers are awaited.
  const budget = sinks.length > 0 ? PUBLISH_BUDGET_MS : undefined;
  if (config.dataDir !== undefined) {
    // Subscribers come with the features that consume events (rules, the relay); at debug level each is logged.
    const local = new InProcessOutbox(
      logger.getLevelName() === "DEBUG"
        ? [
            (events) => {
              for (const event of events) logger.debug("event", { event });
            },
          ]
        : [],
      { includeContent },
    );
    sinks.push({ name: "in-process", outbox: local });
  }
  if (sinks.length === 0) return NO_OUTBOX;
  const [only] = sinks;
  return guardedOutbox(sinks.length === 1 && only ? only.outbox : fanOut(sinks), reportLost, budget);
}

/**
 * An outbox whose adapter (and SDK) is imported when the dependencies are made (first invocation, not the
 * bundle's import), without waiting: it loads while the first callback writes to the store, so the first
 * publish does not spend its budget importing. A failed import is tried again on the next publish.
 */
function lazyOutbox(load: () => Promise<Outbox>): Outbox {
  let loaded: Promise<Outbox> | undefined = load();
  loaded.catch(() => {
    loaded = undefined;
  });
  return {
    publish: async (events) => {
      loaded ??= load();
      loaded.catch(() => {
        loaded = undefined;
      });
      await (await loaded).publish(events);
    },
  };
}

let current: Promise<Dependencies> | undefined;
/** While a secret this function needs is unusable: when to read the secrets again. */
let recheckAt: number | undefined;

/**
 * How often a warm instance that refuses work for an unusable secret reads its secrets again, so that
 * fixing the secret's value takes effect within a minute, without a redeploy (and the refusal keeps
 * being logged and counted meanwhile).
 */
export const UNUSABLE_SECRET_RECHECK_MS = 60_000;

/**
 * The process-wide dependencies: secrets read, config parsed and clients created on first use, then
 * reused by every invocation of a warm Lambda. A failure is not cached, so the next call retries; a
 * configuration that cannot load (an unreadable secret, a bad value) answers 503 `misconfigured`,
 * logged and counted. The recorder calls it without `editing`, the editor with it: each reports, once
 * per cold start, only what concerns its own work (the editor says nothing about callback signing).
 */
export function dependencies(editing?: Editing): Promise<Dependencies> {
  if (recheckAt !== undefined && Date.now() >= recheckAt) {
    current = undefined;
    recheckAt = undefined;
  }
  current ??= (async () => {
    let config: Config;
    try {
      const env = await withSecrets(process.env, secretsManagerReader(process.env.AWS_REGION ?? "us-east-1"));
      config = loadConfig(env);
    } catch (error: unknown) {
      if (!(error instanceof ConfigError)) throw error;
      // Problems name variables, never values.
      logger.error("configuration cannot be loaded: every request is refused", { problems: error.problems });
      count(MISCONFIGURED_METRIC);
      throw new MisconfiguredError("this deployment is misconfigured", { cause: error });
    }
    let deps: Dependencies;
    try {
      deps = createDependencies(config, {}, editing);
    } catch (error: unknown) {
      if (!(error instanceof RulesError)) throw error;
      // The message names the rule, the field and the reason (never a secret: rules hold none).
      logger.error("rules file cannot be loaded: every request is refused", { problem: error.message });
      count(MISCONFIGURED_METRIC);
      throw new MisconfiguredError("this deployment's rules file is invalid", { cause: error });
    }
    const refusing = reportColdStart(config, editing ? ["edits"] : ["callbacks", "forwards"]);
    recheckAt = refusing ? Date.now() + UNUSABLE_SECRET_RECHECK_MS : undefined;
    return deps;
  })().catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

/**
 * Once per cold start, what this function (the recorder and the forwarder: callbacks and forwards; the
 * editor: edits) will refuse or allow unsigned. True when it refuses work for an unusable secret.
 */
function reportColdStart(config: Config, works: readonly SecuredWork[]): boolean {
  let refusing = false;
  for (const secret of config.unusableSecrets) {
    const work = works.find((candidate) => secret.refuses.includes(candidate));
    if (work === undefined) continue;
    refusing = true;
    // A refused forward is no 503: the callback is recorded and answered, the app's copy is refused.
    const answer = work === "forwards" ? "" : " (503 misconfigured)";
    logger.error(
      `${secret.provider} ${work} will be refused${answer}: ${secret.variable} is unusable`,
      describeUnusable(secret),
    );
    count(MISCONFIGURED_METRIC);
  }
  if (works.includes("callbacks")) {
    // What the providers' manifests say is accepted unsafely (e.g. Tencent callbacks without a token).
    for (const manifest of config.manifests) {
      const warnings = manifest.config.callbackWarnings?.(
        config.providers.get(manifest.name)?.settings,
        config.unusableSecrets.filter((secret) => secret.provider === manifest.name),
      );
      for (const warning of warnings ?? []) logger.warn(warning);
    }
  }
  return refusing;
}

/** Tests and the local stack install their own dependencies (same handlers, other store or clock). */
export function setDependencies(deps: Dependencies | undefined): void {
  current = deps ? Promise.resolve(deps) : undefined;
  recheckAt = undefined;
}
