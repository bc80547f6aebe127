import * as z from "zod";
import type { ProviderName } from "./core/model.ts";
import type { NeteaseProviderConfig } from "./providers/netease/provider.ts";
import { NETEASE_REGIONS, type NeteaseRegion } from "./providers/netease/regions.ts";
import type { TencentProviderConfig } from "./providers/tencent/provider.ts";
import { TENCENT_REGIONS, type TencentRegion, tencentBaseUrl } from "./providers/tencent/regions.ts";

/**
 * All configuration comes from the environment, parsed once per cold start. A missing or bad value
 * fails with an error naming the variable. Secrets are held here but never printed: `describeConfig`
 * is the only way config reaches a log line.
 */
const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();

const Env = z.object({
  TABLE_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  /** Local stacks and tests only: the DynamoDB endpoint (dynalite, DynamoDB Local). */
  DYNAMODB_ENDPOINT: z.url().optional(),
  TENCENT_SDKAPPID: z.string().regex(/^\d{1,20}$/, "must be the numeric SDKAppID"),
  TENCENT_CALLBACK_TOKEN: z.string().min(1).max(512).optional(),
  TENCENT_CALLBACK_MAX_SKEW_SECONDS: positiveInt.default(60),
  TENCENT_RECORD_AVCHATROOM: flag.default(false),
  TENCENT_ADMIN_IDENTIFIER: z.string().min(1).max(32).default("administrator"),
  /** The app's secret key: signs the admin UserSig. Without it im-edit records but cannot edit. */
  TENCENT_SECRET_KEY: z.string().min(1).optional(),
  TENCENT_REGION: z.enum(Object.keys(TENCENT_REGIONS) as [TencentRegion, ...TencentRegion[]]).default("cn"),
  /** Replaces `https://<region's domain>` (a simulator, a proxy); requests go to `${it}/v4/...`. */
  TENCENT_API_BASE_URL: z.url().optional(),
  /** At most this many modify calls per API in any rolling window (Tencent's cap is 200/s, shared with your own calls). */
  TENCENT_RATE_LIMIT: positiveInt.default(180),
  TENCENT_RATE_WINDOW_MS: positiveInt.default(1000),
  /** How long an edit waits for a busy message, a rate slot or provider retries before 409/429/503. */
  EDIT_WAIT_MS: positiveInt.max(25_000).default(5_000),
  /**
   * Where the rate limiter keeps its slots: `dynamodb` shares them across every process (the default
   * in AWS, where each warm Lambda is a process); `memory` is exact for one process (the local stack).
   */
  RATE_LIMITER: z.enum(["dynamodb", "memory"]).optional(),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_HOURS: positiveInt.max(24 * 30).default(24),
  /** NetEase Yunxin: set NETEASE_APP_KEY (and its secret) to record and edit Yunxin messages. */
  NETEASE_APP_KEY: z.string().min(1).max(64).optional(),
  NETEASE_APP_SECRET: z.string().min(1).optional(),
  NETEASE_REGION: z.enum(Object.keys(NETEASE_REGIONS) as [NeteaseRegion, ...NeteaseRegion[]]).default("cn"),
  /** Replaces the region's gateway (`…/nimserver`); requests go to `${it}/im/v2/...`. */
  NETEASE_API_BASE_URL: z.url().optional(),
  /** Allowed age of a message copy's CurTime (ms) before it is refused as stale. */
  NETEASE_COPY_MAX_SKEW_MS: positiveInt.default(10 * 60 * 1000),
  /** modifyMsg route_config.route_enabled: our edits come back as message copies (Yunxin's default). */
  NETEASE_ROUTE_ENABLED: flag.default(true),
  /** The account that edits at Yunxin; default each message's sender. */
  NETEASE_OPERATOR: z.string().min(1).max(64).optional(),
  NETEASE_RATE_LIMIT: positiveInt.default(100),
  NETEASE_RATE_WINDOW_MS: positiveInt.default(1000),
  /** At most one edit per message in this many ms (Yunxin: 1 s, else 107449). */
  NETEASE_MESSAGE_EDIT_INTERVAL_MS: positiveInt.default(1100),
  /** Yunxin edits messages younger than 7 days; im-edit stops a margin before. */
  NETEASE_MAX_EDIT_AGE_MINUTES: positiveInt.max(7 * 24 * 60).default(7 * 24 * 60 - 10),
  /** Callback bodies above this many bytes get 413 (a Tencent message is at most 12 KB). */
  CALLBACK_MAX_BYTES: positiveInt.max(6 * 1024 * 1024).default(64 * 1024),
  /** Time the recorder gives the store before spooling the callback; Tencent waits 2 s in all. */
  CALLBACK_STORE_BUDGET_MS: positiveInt.max(1900).default(1200),
  /** Optional retention in days: messages and their versions expire (DynamoDB TTL) after it. */
  RETENTION_DAYS: positiveInt.max(36_500).optional(),
  /** AWS: the recorder's durable fallback queue (locally the spool under DATA_DIR). */
  FALLBACK_QUEUE_URL: z.url().optional(),
  /** AWS: the editor's queue (queued edits, delayed resolution of unknown outcomes). */
  EDIT_QUEUE_URL: z.url().optional(),
  /** AWS, `-c events=sqs`: where domain events (MessageRecorded, MessageEdited, EditFailed) go. Unset: events off. */
  EVENTS_QUEUE_URL: z.url().optional(),
  /** Local durable fallback (spool) location; in AWS the fallback is an SQS queue. */
  DATA_DIR: z.string().min(1).optional(),
});

/**
 * The secrets, and what each one guards. In AWS each comes from Secrets Manager through
 * `<NAME>_SECRET_ARN` (see secrets.ts). Fail closed: a secret that cannot be used refuses the work it
 * guards, for its provider only, with 503 `misconfigured`; it never turns a check off.
 */
export const SECRETS = {
  /** Verifies Tencent callbacks (`Sign`). Unset locally: accepted unsigned, with a warning. */
  TENCENT_CALLBACK_TOKEN: { provider: "tencent", refuses: ["callbacks"] },
  /** Signs the admin UserSig for edits. Unset: editing Tencent messages is off. */
  TENCENT_SECRET_KEY: { provider: "tencent", refuses: ["edits"] },
  /** Verifies NetEase message copies (CheckSum) and signs REST calls. */
  NETEASE_APP_SECRET: { provider: "netease", refuses: ["callbacks", "edits"] },
} as const satisfies Record<string, { provider: ProviderName; refuses: readonly SecuredWork[] }>;

export type SecretName = keyof typeof SECRETS;
export type SecuredWork = "callbacks" | "edits";

/** A secret that was configured but cannot be used: its provider's callbacks and/or edits are refused. */
export interface UnusableSecret {
  readonly variable: SecretName;
  readonly provider: ProviderName;
  /** The provider's app (Tencent SDKAppID, NetEase AppKey). */
  readonly appId: string;
  readonly refuses: readonly SecuredWork[];
  /**
   * `blank`: it resolved empty or to whitespace (from Secrets Manager, or a plain value in AWS);
   * `missing`: AWS needs it (the callback token; the NetEase AppSecret with an AppKey) and it is absent.
   */
  readonly reason: "blank" | "missing";
}

export interface TencentEditConfig {
  readonly adminIdentifier: string;
  readonly secretKey: string;
  readonly baseUrl: string;
  readonly rateLimit: number;
  readonly rateWindowMs: number;
}

export interface NeteaseEditConfig {
  readonly baseUrl: string;
  readonly routeEnabled: boolean;
  readonly operator?: string;
  readonly rateLimit: number;
  readonly rateWindowMs: number;
  readonly messageIntervalMs: number;
  readonly maxAgeMs: number;
}

export interface Config {
  readonly tableName: string;
  readonly region: string;
  readonly dynamodbEndpoint?: string;
  readonly tencent?: TencentProviderConfig & { readonly edit?: TencentEditConfig };
  readonly netease?: NeteaseProviderConfig & { readonly edit: NeteaseEditConfig };
  readonly editWaitMs: number;
  readonly idempotencyTtlMs: number;
  readonly rateLimiter: "dynamodb" | "memory";
  readonly callbackMaxBytes: number;
  readonly callbackStoreBudgetMs: number;
  readonly dataDir?: string;
  readonly retentionDays?: number;
  readonly fallbackQueueUrl?: string;
  readonly editQueueUrl?: string;
  readonly eventsQueueUrl?: string;
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

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === "";

/**
 * Which secrets are blank, and what that means here. A secret that is blank although it was configured
 * (its `_SECRET_ARN` is set) or, in AWS (a Lambda), set plainly to whitespace, or that AWS needs and
 * is absent, is unusable: the function keeps running for everything else and refuses what it guards.
 * Locally a whitespace-only value is a typo and fails at start; an empty one is unset.
 */
function checkSecrets(env: Readonly<Record<string, string | undefined>>): {
  unusable: Map<SecretName, UnusableSecret["reason"]>;
  problems: string[];
} {
  const inAws = !blank(env.AWS_LAMBDA_FUNCTION_NAME);
  const unusable = new Map<SecretName, UnusableSecret["reason"]>();
  const problems: string[] = [];
  for (const variable of Object.keys(SECRETS) as SecretName[]) {
    const value = env[variable];
    if (!blank(value)) continue;
    // A NetEase secret matters only with a NetEase AppKey.
    if (variable === "NETEASE_APP_SECRET" && blank(env.NETEASE_APP_KEY)) continue;
    const whitespace = value !== undefined && value !== "";
    if (!blank(env[`${variable}_SECRET_ARN`]) || (inAws && whitespace)) unusable.set(variable, "blank");
    else if (whitespace) {
      problems.push(`${variable}: only whitespace; set the real value, or set it empty to leave it unset`);
    } else if (inAws && variable !== "TENCENT_SECRET_KEY") unusable.set(variable, "missing");
  }
  return { unusable, problems };
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const secrets = checkSecrets(env);
  // Empty strings count as unset, as a shell `FOO= npm start` means; blank secrets are handled above.
  const present = Object.fromEntries(
    Object.entries(env).filter(
      ([name, v]) => v !== undefined && v !== "" && !(Object.hasOwn(SECRETS, name) && blank(v)),
    ),
  );
  const parsed = Env.safeParse(present);
  const problems = [
    ...secrets.problems,
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  if (
    e.NETEASE_APP_KEY !== undefined &&
    e.NETEASE_APP_SECRET === undefined &&
    !secrets.unusable.has("NETEASE_APP_SECRET")
  ) {
    throw new ConfigError(["NETEASE_APP_SECRET: required when NETEASE_APP_KEY is set"]);
  }
  const unusableSecrets = [...secrets.unusable].map(
    ([variable, reason]): UnusableSecret => ({
      variable,
      provider: SECRETS[variable].provider,
      appId: SECRETS[variable].provider === "netease" ? (e.NETEASE_APP_KEY ?? "") : e.TENCENT_SDKAPPID,
      refuses: SECRETS[variable].refuses,
      reason,
    }),
  );
  return {
    tableName: e.TABLE_NAME,
    region: e.AWS_REGION,
    ...(e.DYNAMODB_ENDPOINT !== undefined ? { dynamodbEndpoint: e.DYNAMODB_ENDPOINT } : {}),
    tencent: {
      sdkAppId: e.TENCENT_SDKAPPID,
      ...(e.TENCENT_CALLBACK_TOKEN !== undefined ? { callbackToken: e.TENCENT_CALLBACK_TOKEN } : {}),
      maxSkewSeconds: e.TENCENT_CALLBACK_MAX_SKEW_SECONDS,
      recordAvChatRoom: e.TENCENT_RECORD_AVCHATROOM,
      adminIdentifier: e.TENCENT_ADMIN_IDENTIFIER,
      ...(e.TENCENT_SECRET_KEY !== undefined
        ? {
            edit: {
              adminIdentifier: e.TENCENT_ADMIN_IDENTIFIER,
              secretKey: e.TENCENT_SECRET_KEY,
              baseUrl: e.TENCENT_API_BASE_URL ?? tencentBaseUrl(e.TENCENT_REGION),
              rateLimit: e.TENCENT_RATE_LIMIT,
              rateWindowMs: e.TENCENT_RATE_WINDOW_MS,
            },
          }
        : {}),
    },
    ...(e.NETEASE_APP_KEY !== undefined && e.NETEASE_APP_SECRET !== undefined
      ? {
          netease: {
            appKey: e.NETEASE_APP_KEY,
            appSecret: e.NETEASE_APP_SECRET,
            maxSkewMs: e.NETEASE_COPY_MAX_SKEW_MS,
            edit: {
              baseUrl: e.NETEASE_API_BASE_URL ?? NETEASE_REGIONS[e.NETEASE_REGION],
              routeEnabled: e.NETEASE_ROUTE_ENABLED,
              ...(e.NETEASE_OPERATOR !== undefined ? { operator: e.NETEASE_OPERATOR } : {}),
              rateLimit: e.NETEASE_RATE_LIMIT,
              rateWindowMs: e.NETEASE_RATE_WINDOW_MS,
              messageIntervalMs: e.NETEASE_MESSAGE_EDIT_INTERVAL_MS,
              maxAgeMs: e.NETEASE_MAX_EDIT_AGE_MINUTES * 60_000,
            },
          },
        }
      : {}),
    editWaitMs: e.EDIT_WAIT_MS,
    rateLimiter: e.RATE_LIMITER ?? (e.DYNAMODB_ENDPOINT === undefined ? "dynamodb" : "memory"),
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_HOURS * 3600 * 1000,
    callbackMaxBytes: e.CALLBACK_MAX_BYTES,
    callbackStoreBudgetMs: e.CALLBACK_STORE_BUDGET_MS,
    ...(e.DATA_DIR !== undefined ? { dataDir: e.DATA_DIR } : {}),
    ...(e.RETENTION_DAYS !== undefined ? { retentionDays: e.RETENTION_DAYS } : {}),
    ...(e.FALLBACK_QUEUE_URL !== undefined ? { fallbackQueueUrl: e.FALLBACK_QUEUE_URL } : {}),
    ...(e.EDIT_QUEUE_URL !== undefined ? { editQueueUrl: e.EDIT_QUEUE_URL } : {}),
    ...(e.EVENTS_QUEUE_URL !== undefined ? { eventsQueueUrl: e.EVENTS_QUEUE_URL } : {}),
    unusableSecrets,
  };
}

/** How a secret's state reads in `describeConfig`. */
const describeUnusable = (secret: UnusableSecret): string =>
  `UNUSABLE (${secret.reason === "blank" ? "empty or whitespace" : "missing"}): ${secret.provider} ${secret.refuses.join(" and ")} refused with 503`;

/** A loggable summary: which secrets are set, never their values. */
export function describeConfig(config: Config): Record<string, unknown> {
  const unusable = (variable: SecretName): UnusableSecret | undefined =>
    config.unusableSecrets.find((secret) => secret.variable === variable);
  const state = (variable: SecretName, set: boolean): string => {
    const secret = unusable(variable);
    return secret ? `${variable} ${describeUnusable(secret)}` : set ? "set" : "unset";
  };
  const neteaseSecret = unusable("NETEASE_APP_SECRET");
  const tencentKey = unusable("TENCENT_SECRET_KEY");
  return {
    tableName: config.tableName,
    region: config.region,
    tencent: config.tencent && {
      sdkAppId: config.tencent.sdkAppId,
      callbackToken: state("TENCENT_CALLBACK_TOKEN", config.tencent.callbackToken !== undefined),
      recordAvChatRoom: config.tencent.recordAvChatRoom,
      editing: config.tencent.edit
        ? {
            adminIdentifier: config.tencent.edit.adminIdentifier,
            secretKey: "set",
            // Only the origin: a configured URL could carry credentials in its path or query.
            apiOrigin: new URL(config.tencent.edit.baseUrl).origin,
            rate: `${config.tencent.edit.rateLimit}/${config.tencent.edit.rateWindowMs}ms`,
          }
        : tencentKey
          ? `TENCENT_SECRET_KEY ${describeUnusable(tencentKey)}`
          : "off (TENCENT_SECRET_KEY unset)",
    },
    netease: config.netease
      ? {
          appKey: config.netease.appKey,
          appSecret: "set",
          apiOrigin: new URL(config.netease.edit.baseUrl).origin,
          routeEnabled: config.netease.edit.routeEnabled,
        }
      : neteaseSecret
        ? { appKey: neteaseSecret.appId, appSecret: `NETEASE_APP_SECRET ${describeUnusable(neteaseSecret)}` }
        : "off (NETEASE_APP_KEY unset)",
  };
}
