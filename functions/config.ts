import { ALL_LISTINGS, LISTINGS_HINT, type Listings, listingsValue, parseListings } from "./core/listings.ts";
import type { ProviderName } from "./core/model.ts";
import type { ForwardFallback } from "./core/relay-hook.ts";
import { blank, type Env as Environment, positiveInt } from "./providers/env.ts";
import type { ProviderManifest } from "./providers/manifest.ts";
import type { NeteaseSettings } from "./providers/netease/manifest.ts";
import { PROVIDERS } from "./providers/recorder-providers.ts";
import type { TencentSettings } from "./providers/tencent/manifest.ts";
import {
  describeRelay,
  FALLBACK_HINT,
  FORWARD_FALLBACK_PATTERN,
  fallbackPolicy,
  forwardProblems,
  forwardTargets,
  forwardUrlOf,
  MAX_CALLBACK_FORWARD_TIMEOUT_MS,
} from "./relay-config.ts";
import { checkSecrets, secretsOf, type UnusableSecret } from "./secret-checks.ts";
import * as z from "./zod.ts";

export type { NeteaseEditConfig } from "./providers/netease/manifest.ts";
export type { TencentEditConfig } from "./providers/tencent/manifest.ts";

/**
 * All configuration comes from the environment, parsed once per cold start. A missing or bad value
 * fails with an error naming the variable. Secrets are held here but never printed: `describeConfig`
 * is the only way config reaches a log line. The providers' variables are their manifests' config
 * fragments (providers/<name>/manifest.ts); this schema holds the rest.
 */
const Env = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  AWS_REGION: z._default(z.string().check(z.minLength(1)), "us-east-1"),
  /** Local stacks and tests only: the DynamoDB endpoint (dynalite, DynamoDB Local). */
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  /** How long an edit waits for a busy message, a rate slot or provider retries before 409/429/503. */
  EDIT_WAIT_MS: z._default(positiveInt.check(z.maximum(25_000)), 5_000),
  /**
   * Where the rate limiter keeps its slots: `dynamodb` shares them across every process (the default
   * in AWS, where each warm Lambda is a process); `memory` is exact for one process (the local stack).
   */
  RATE_LIMITER: z.optional(z.enum(["dynamodb", "memory"])),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_HOURS: z._default(positiveInt.check(z.maximum(24 * 30)), 24),
  /** Callback bodies above this many bytes get 413 (a Tencent message is at most 12 KB). */
  CALLBACK_MAX_BYTES: z._default(positiveInt.check(z.maximum(6 * 1024 * 1024)), 64 * 1024),
  /** Time the recorder gives the store before spooling the callback; Tencent waits 2 s in all. */
  CALLBACK_STORE_BUDGET_MS: z._default(positiveInt.check(z.maximum(1900)), 1200),
  /** The listings kept (core/listings.ts): `conversation`, `app`, both (comma), or `none`. The stack sets it. */
  LISTINGS: z._default(
    z.pipe(
      z.string().check(z.refine((value) => parseListings(value) !== undefined, `must be ${LISTINGS_HINT}`)),
      // Refined just above: parseListings takes every value that gets here.
      z.transform((value: string) => parseListings(value) ?? ALL_LISTINGS),
    ),
    ALL_LISTINGS,
  ),
  /** Optional retention in days: messages and their versions expire (DynamoDB TTL) after it. */
  RETENTION_DAYS: z.optional(positiveInt.check(z.maximum(36_500))),
  /** AWS: the recorder's durable fallback queue (locally the spool under DATA_DIR). */
  FALLBACK_QUEUE_URL: z.optional(z.url()),
  /** AWS: the editor's queue (queued edits, delayed resolution of unknown outcomes). */
  EDIT_QUEUE_URL: z.optional(z.url()),
  /** AWS: the edit queue's dead-letter queue, where the worker puts what it gives up on, with the reason. */
  EDIT_DLQ_URL: z.optional(z.url()),
  /** The edit queue's maxReceiveCount: a retryable failure on this receive is dead-lettered with its reason. */
  EDIT_QUEUE_MAX_RECEIVES: z._default(positiveInt.check(z.maximum(1000)), 5),
  /** AWS: the fallback queue's dead-letter queue (the recorder's drain puts what it gives up on there). */
  FALLBACK_DLQ_URL: z.optional(z.url()),
  /** The fallback queue's maxReceiveCount, likewise. */
  FALLBACK_QUEUE_MAX_RECEIVES: z._default(positiveInt.check(z.maximum(1000)), 5),
  /** AWS, `-c events=sqs`: where domain events (MessageRecorded, MessageEdited, EditFailed) go. Unset: events off. */
  EVENTS_QUEUE_URL: z.optional(z.url()),
  /** Local durable fallback (spool) location; in AWS the fallback is an SQS queue. */
  DATA_DIR: z.optional(z.string().check(z.minLength(1))),
  /** The rules file (JSON, or YAML by extension); in AWS the stack bundles it beside the code. */
  IM_EDIT_RULES: z.optional(z.string().check(z.minLength(1))),
  /** AWS, `-c events=eventbridge`: the bus domain events go to (source `im-edit`). */
  EVENT_BUS_NAME: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  /** Locally: where outgoing events go as well, `-` (print) or an http(s) URL each batch is POSTed to. */
  IM_EDIT_EVENTS_URL: z.optional(z.union([z.literal("-"), z.url()])),
  /** Events carry the message's content too (off by default: a queue or bus never holds a copy). */
  EVENTS_INCLUDE_CONTENT: z._default(z.stringbool(), false),
  /** The share of the provider's rate kept for interactive edits while background work (jobs, rules) runs. */
  INTERACTIVE_RESERVE: z._default(z.coerce.number().check(z.minimum(0), z.maximum(0.5)), 0.05),
  /**
   * How long one run of a bulk job (a slice) goes before it checkpoints and queues the rest: below the
   * worker Lambda's timeout in AWS (15 minutes at most).
   */
  JOB_SLICE_MS: z._default(positiveInt.check(z.minimum(5_000), z.maximum(900_000)), 600_000),
  /** Provider calls one bulk job keeps in flight. */
  JOB_CONCURRENCY: z._default(positiveInt.check(z.maximum(64)), 16),
  /**
   * The relay (issue 16): how long a before-send's forward waits for the app's answer. At most 1800: the
   * store needs its share of Tencent's 2 s; the default leaves room for a cold start.
   */
  CALLBACK_FORWARD_TIMEOUT_MS: z._default(
    positiveInt.check(z.maximum(MAX_CALLBACK_FORWARD_TIMEOUT_MS)),
    1200,
  ),
  /**
   * What a before-send gets when the app does not answer in time, answers something invalid, a status
   * other than 200, or is down: `allow` (deliver as sent), `block` (refuse, ErrorCode 1) or `block:<code>`.
   */
  CALLBACK_FORWARD_FALLBACK: z._default(
    z.string().check(z.regex(FORWARD_FALLBACK_PATTERN, FALLBACK_HINT)),
    "allow",
  ),
  /** AWS: the asynchronous forward queue (locally DATA_DIR/forwards, else in memory). */
  FORWARD_QUEUE_URL: z.optional(z.url()),
  /** AWS: the forward queue's dead-letter queue. */
  FORWARD_DLQ_URL: z.optional(z.url()),
  /** Delivery attempts of one asynchronous forward before it is dead-lettered. */
  FORWARD_QUEUE_MAX_RECEIVES: z._default(positiveInt.check(z.maximum(1000)), 8),
  /** One asynchronous delivery attempt's budget. */
  FORWARD_TIMEOUT_MS: z._default(positiveInt.check(z.maximum(60_000)), 5000),
  /** An answer from the app above this many bytes is refused (before-send: invalid; otherwise retried). */
  FORWARD_MAX_RESPONSE_BYTES: z._default(positiveInt.check(z.maximum(6 * 1024 * 1024)), 64 * 1024),
});

/** A provider whose settings loaded: its manifest, what its factories get, and its app. */
export interface ConfiguredProvider {
  readonly manifest: ProviderManifest;
  readonly settings: unknown;
  readonly appId: string;
  /** The app's own callback handler its callbacks are forwarded to (the relay), when set. */
  readonly forwardUrl?: string;
}

export interface Config {
  readonly tableName: string;
  readonly region: string;
  readonly dynamodbEndpoint?: string;
  /** The manifests this config was loaded with (configured or not), in registration order. */
  readonly manifests: readonly ProviderManifest[];
  /** The providers that are configured, by name. */
  readonly providers: ReadonlyMap<ProviderName, ConfiguredProvider>;
  /** The built-in providers' settings, typed (the same objects as in `providers`). */
  readonly tencent?: TencentSettings;
  readonly netease?: NeteaseSettings;
  readonly editWaitMs: number;
  readonly idempotencyTtlMs: number;
  readonly rateLimiter: "dynamodb" | "memory";
  readonly callbackMaxBytes: number;
  readonly callbackStoreBudgetMs: number;
  readonly dataDir?: string;
  /** The listings this deployment keeps (LISTINGS); what needs another is refused before the store. */
  readonly listings: Listings;
  readonly retentionDays?: number;
  readonly fallbackQueueUrl?: string;
  readonly editQueueUrl?: string;
  readonly eventsQueueUrl?: string;
  /** The queues' dead-letter queues (AWS) and maxReceiveCounts; locally letters go under DATA_DIR. */
  readonly editDlqUrl?: string;
  readonly editQueueMaxReceives: number;
  readonly fallbackDlqUrl?: string;
  readonly fallbackQueueMaxReceives: number;
  readonly rulesFile?: string;
  readonly eventBusName?: string;
  readonly eventsUrl?: string;
  readonly eventsIncludeContent: boolean;
  readonly interactiveReserve: number;
  readonly jobSliceMs: number;
  readonly jobConcurrency: number;
  /** The relay: a before-send forward's budget (CALLBACK_FORWARD_TIMEOUT_MS), and what a failed one gets. */
  readonly callbackForwardTimeoutMs: number;
  readonly callbackForwardFallback: ForwardFallback;
  /** The relay's asynchronous forwards: their queue and DLQ (AWS), attempts, one attempt's budget. */
  readonly forwardQueueUrl?: string;
  readonly forwardDlqUrl?: string;
  readonly forwardQueueMaxReceives: number;
  readonly forwardTimeoutMs: number;
  /** The largest answer read from the app (FORWARD_MAX_RESPONSE_BYTES). */
  readonly forwardMaxResponseBytes: number;
  /**
   * Secrets that were configured but cannot be used (fail closed): the providers they guard are built
   * without them, and `createDependencies` refuses those providers' callbacks or edits with 503.
   */
  readonly unusableSecrets: readonly UnusableSecret[];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; the providers' parts by the manifests given (default: the registered ones). */
export function loadConfig(env: Environment, manifests: readonly ProviderManifest[] = PROVIDERS): Config {
  const secretSpecs = secretsOf(manifests);
  const secrets = checkSecrets(env, secretSpecs);
  // Empty strings count as unset, as a shell `FOO= npm start` means; blank secrets are handled above.
  const present = Object.fromEntries(
    Object.entries(env).filter(
      ([name, v]) => v !== undefined && v !== "" && !(secretSpecs.has(name) && blank(v)),
    ),
  );
  const issues = (error: z.core.$ZodError) =>
    error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  const parsed = z.safeParse(Env, present);
  const problems = [...secrets.problems, ...(parsed.success ? [] : issues(parsed.error))];
  const unusableNames = new Set(secrets.unusable.keys());
  const fragments = manifests.map((manifest) => {
    const fragment = z.safeParse(manifest.config.schema, present);
    if (!fragment.success) problems.push(...issues(fragment.error));
    // A fragment that failed fails the whole config just below: its values are never read.
    return { manifest, env: fragment.success ? fragment.data : {} };
  });
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  for (const { manifest, env: values } of fragments) {
    problems.push(...(manifest.config.problems?.(values, unusableNames) ?? []));
    problems.push(...forwardProblems(manifest, present, parsed.data));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const appIds = new Map(
    fragments.map(({ manifest, env: values }) => [manifest.name, manifest.config.appId(values)]),
  );
  const unusableSecrets = [...secrets.unusable].map(([variable, reason]): UnusableSecret => {
    const secret = secretSpecs.get(variable);
    const provider = secret?.provider ?? ("" as ProviderName);
    return { variable, provider, appId: appIds.get(provider) ?? "", refuses: secret?.refuses ?? [], reason };
  });
  const providers = new Map<ProviderName, ConfiguredProvider>();
  for (const { manifest, env: values } of fragments) {
    const settings = manifest.config.settings(values, unusableNames);
    if (settings !== undefined) {
      const forwardUrl = forwardUrlOf(manifest, present);
      providers.set(manifest.name, {
        manifest,
        settings,
        appId: manifest.config.appId(values),
        ...(forwardUrl !== undefined ? { forwardUrl } : {}),
      });
    }
  }
  const tencent = providers.get("tencent")?.settings as TencentSettings | undefined;
  const netease = providers.get("netease")?.settings as NeteaseSettings | undefined;
  return {
    tableName: e.TABLE_NAME,
    region: e.AWS_REGION,
    ...(e.DYNAMODB_ENDPOINT !== undefined ? { dynamodbEndpoint: e.DYNAMODB_ENDPOINT } : {}),
    manifests,
    providers,
    ...(tencent !== undefined ? { tencent } : {}),
    ...(netease !== undefined ? { netease } : {}),
    editWaitMs: e.EDIT_WAIT_MS,
    rateLimiter: e.RATE_LIMITER ?? (e.DYNAMODB_ENDPOINT === undefined ? "dynamodb" : "memory"),
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_HOURS * 3600 * 1000,
    callbackMaxBytes: e.CALLBACK_MAX_BYTES,
    callbackStoreBudgetMs: e.CALLBACK_STORE_BUDGET_MS,
    ...(e.DATA_DIR !== undefined ? { dataDir: e.DATA_DIR } : {}),
    listings: e.LISTINGS,
    ...(e.RETENTION_DAYS !== undefined ? { retentionDays: e.RETENTION_DAYS } : {}),
    ...(e.FALLBACK_QUEUE_URL !== undefined ? { fallbackQueueUrl: e.FALLBACK_QUEUE_URL } : {}),
    ...(e.EDIT_QUEUE_URL !== undefined ? { editQueueUrl: e.EDIT_QUEUE_URL } : {}),
    ...(e.EVENTS_QUEUE_URL !== undefined ? { eventsQueueUrl: e.EVENTS_QUEUE_URL } : {}),
    ...(e.EDIT_DLQ_URL !== undefined ? { editDlqUrl: e.EDIT_DLQ_URL } : {}),
    editQueueMaxReceives: e.EDIT_QUEUE_MAX_RECEIVES,
    ...(e.FALLBACK_DLQ_URL !== undefined ? { fallbackDlqUrl: e.FALLBACK_DLQ_URL } : {}),
    fallbackQueueMaxReceives: e.FALLBACK_QUEUE_MAX_RECEIVES,
    ...(e.IM_EDIT_RULES !== undefined ? { rulesFile: e.IM_EDIT_RULES } : {}),
    ...(e.EVENT_BUS_NAME !== undefined ? { eventBusName: e.EVENT_BUS_NAME } : {}),
    ...(e.IM_EDIT_EVENTS_URL !== undefined ? { eventsUrl: e.IM_EDIT_EVENTS_URL } : {}),
    eventsIncludeContent: e.EVENTS_INCLUDE_CONTENT,
    interactiveReserve: e.INTERACTIVE_RESERVE,
    jobSliceMs: e.JOB_SLICE_MS,
    jobConcurrency: e.JOB_CONCURRENCY,
    callbackForwardTimeoutMs: e.CALLBACK_FORWARD_TIMEOUT_MS,
    callbackForwardFallback: fallbackPolicy(e.CALLBACK_FORWARD_FALLBACK),
    ...(e.FORWARD_QUEUE_URL !== undefined ? { forwardQueueUrl: e.FORWARD_QUEUE_URL } : {}),
    ...(e.FORWARD_DLQ_URL !== undefined ? { forwardDlqUrl: e.FORWARD_DLQ_URL } : {}),
    forwardQueueMaxReceives: e.FORWARD_QUEUE_MAX_RECEIVES,
    forwardTimeoutMs: e.FORWARD_TIMEOUT_MS,
    forwardMaxResponseBytes: e.FORWARD_MAX_RESPONSE_BYTES,
    unusableSecrets,
  };
}

/** A loggable summary, one entry per registered provider: which secrets are set, never their values. */
export function describeConfig(config: Config): Record<string, unknown> {
  const targets = forwardTargets(config);
  return {
    tableName: config.tableName,
    region: config.region,
    listings: listingsValue(config.listings),
    ...(Object.keys(targets).length > 0 ? { relay: describeRelay(config, targets) } : {}),
    ...Object.fromEntries(
      config.manifests.map((manifest) => [
        manifest.name,
        manifest.config.describe(
          config.providers.get(manifest.name)?.settings,
          config.unusableSecrets.filter((secret) => secret.provider === manifest.name),
        ),
      ]),
    ),
  };
}
