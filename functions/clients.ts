import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoRateLimiter } from "./adapters/dynamodb/limiter.ts";
import { DynamoStore } from "./adapters/dynamodb/store.ts";
import { InProcessWorkQueue } from "./adapters/work/in-process.ts";
import type { Config } from "./config.ts";
import { BEFORE_SEND_DEADLINE_MS, CallbackPipeline } from "./core/callbacks.ts";
import type { DeadLetterPolicy } from "./core/dead-letters.ts";
import type { DecideHook } from "./core/decide.ts";
import { DurableRecorder, type FallbackQueue } from "./core/durable.ts";
import { DEFAULT_EDIT_OPTIONS } from "./core/edit-settlement.ts";
import { EditService } from "./core/edits.ts";
import { DEFAULT_JOB_OPTIONS } from "./core/jobs/context.ts";
import { jobRules } from "./core/jobs/rules.ts";
import { RUN_JOB } from "./core/jobs/runner.ts";
import { JobService } from "./core/jobs/service.ts";
import { type RateLimiter, type RateRule, SlidingWindowLimiter, systemClock } from "./core/limiter.ts";
import type { ProviderName } from "./core/model.ts";
import type { Outbox } from "./core/outbox.ts";
import type { CallbackProvider, ProviderEditor } from "./core/provider.ts";
import { MessageQueries } from "./core/queries.ts";
import { Recorder } from "./core/recorder.ts";
import type { Forward, Forwarder, ForwardQueue } from "./core/relay.ts";
import { createAppRelay } from "./core/relay-hook.ts";
import {
  AfterSendTrigger,
  APPLY_RULES,
  type ApplyRulesOutcome,
  applyRules,
} from "./core/rules/auto-edits.ts";
import { RuleSet } from "./core/rules/engine.ts";
import { DEFAULT_RULES_BUDGET_MS, fixedRules, type RulesHolder, rulesHook } from "./core/rules/hook.ts";
import type { Store } from "./core/store.ts";
import type { WorkQueue } from "./core/work.ts";
import { logger } from "./logger.ts";
import { count } from "./metrics.ts";
import { createProviders } from "./providers/registry.ts";
import { loadRulesFile } from "./rules-file.ts";
import { guardEditors, guardProviders } from "./wiring/guards.ts";
import {
  AUTO_EDITS_OBSERVER,
  appRelayObserver,
  CALLBACK_OBSERVER,
  RULES_HOOK_OBSERVER,
} from "./wiring/observers.ts";
import { createOutbox } from "./wiring/outbox.ts";
import {
  createDeadLetters,
  createFallback,
  createRelay,
  createWorkQueue,
  lazySqs,
  someRelay,
} from "./wiring/queues.ts";

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
    new DynamoStore(documents, config.tableName, {
      listings: config.listings,
      ...(config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {}),
    });
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
  const queries = new MessageQueries(store, providers, config.listings);
  const relay = overrides.relay ?? createRelay(config, providers, sqs, deadLetters.forward);
  // The app decides a before-send first (issue 16), when some provider forwards to the app's handler.
  const appRelay = someRelay(providers)
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

/** The rules file (IM_EDIT_RULES), validated: a bad one throws RulesError naming the rule, field and reason. */
function loadRules(config: Config): RuleSet {
  return config.rulesFile === undefined ? RuleSet.EMPTY : loadRulesFile(config.rulesFile);
}
