import type { ContentCodec } from "../core/codec.ts";
import type { RateLimiter, RateRule } from "../core/limiter.ts";
import type { Kind, ProviderName } from "../core/model.ts";
import type { CallbackProvider, ProviderEditor } from "../core/provider.ts";
import * as z from "../zod.ts";

/**
 * Everything im-edit knows about one provider, in the provider's folder (`providers/<name>/manifest.ts`):
 * config, secrets, the stack, the local stack and the registries derive from the registered manifests.
 * A new provider is one folder plus one line in each function bundle's list (recorder-providers.ts,
 * editor-providers.ts); the editor factory is a separate part (`EditorManifest`) so that the recorder's
 * bundle carries no REST client, and simulators live under local/ (never in a Lambda bundle).
 *
 * `S` is the provider's env schema (its config fragment), `C` the settings it maps the env to: the same
 * value reaches every factory. Members are methods so that a list of manifests with different settings
 * is one `ProviderManifest[]`.
 */
export interface ProviderManifest<S extends z.core.$ZodObject = z.core.$ZodObject, C = unknown> {
  readonly name: ProviderName;
  /** The kinds of message it records, and the id prefixes of its messages (`<prefix>_<26 chars>`). */
  readonly kinds: readonly Kind[];
  readonly idPrefixes: readonly string[];
  readonly config: ConfigFragment<S, C>;
  /** Its secrets, in the order they are checked and reported. */
  readonly secrets: readonly SecretSpec[];
  /** The limiter's rule for its keys (`<name>:<app>:<api>[:...]`); undefined: the default rule. */
  rateRule(settings: C, key: string): RateRule | undefined;
  /** The callback receiver (verify, interpret, reply, lookups). */
  createCallbacks(settings: C): CallbackProvider;
  readonly codec: ContentCodec;
  /** How a deployment sets it up, as data the CDK stack and its context reader interpret. */
  readonly cdk: CdkBindings;
}

/** The editor bundle's part: the manifest plus how to build its editor (the REST client lives here). */
export interface EditorManifest<S extends z.core.$ZodObject = z.core.$ZodObject, C = unknown>
  extends ProviderManifest<S, C> {
  /** Undefined when the settings do not allow editing (e.g. Tencent without its secret key). */
  createEditor(settings: C, limiter: RateLimiter): ProviderEditor | undefined;
  /** The edit body its editor's `parseChange` takes (`PATCH /v1/messages/{id}`): the OpenAPI document shows it. */
  readonly editBody?: z.core.$ZodType;
}

/** The provider's part of the environment, and what it means. */
export interface ConfigFragment<S extends z.core.$ZodObject, C> {
  /** Its variables (all names start with the provider's prefix, e.g. `TENCENT_`). */
  readonly schema: S;
  /** The provider's settings; undefined when it is not configured (or cannot be: a secret is unusable). */
  settings(env: z.output<S>, unusable: ReadonlySet<string>): C | undefined;
  /** The app a secret's refusal is about (Tencent SDKAppID, NetEase AppKey). */
  appId(env: z.output<S>): string;
  /** Problems across variables, one line each, naming the variable. */
  problems?(env: z.output<S>, unusable: ReadonlySet<string>): readonly string[];
  /** A loggable summary: which secrets are set, never their values. */
  describe(settings: C | undefined, unusable: readonly UnusableSecretView[]): unknown;
  /** Once per cold start of the recorder: what it accepts unsafely (e.g. callbacks unsigned). */
  callbackWarnings?(settings: C | undefined, unusable: readonly UnusableSecretView[]): readonly string[];
  /**
   * The relay (issue 16), when the provider can forward its callbacks to the app's own handler: the
   * variable naming that handler's URL (`<PREFIX>_CALLBACK_FORWARD_URL`, a `ForwardUrl`). loadConfig
   * checks it for every provider alike: https in AWS, never im-edit's own callback route.
   */
  readonly forward?: { readonly urlVariable: string };
}

/**
 * What a secret guards: verifying callbacks, signing edits, or signing the forwards of the relay to the
 * app's own handler (an unusable forward secret refuses forwards only: the callbacks are still recorded).
 */
export type SecuredWork = "callbacks" | "edits" | "forwards";
export type FunctionRole = "recorder" | "editor";

/**
 * One secret. In AWS it comes from Secrets Manager through `<variable>_SECRET_ARN`, bound to the
 * functions that do the work it guards (callbacks: the recorder; edits: the editor). Fail closed: a
 * secret that cannot be used refuses that work, for this provider only, with 503 `misconfigured`.
 */
export interface SecretSpec {
  readonly variable: string;
  readonly refuses: readonly SecuredWork[];
  /** Whether the secret matters with this env at all (NetEase's AppSecret: only with an AppKey). */
  appliesTo?(env: Readonly<Record<string, string | undefined>>): boolean;
  /** AWS needs it: absent there, it is unusable (`missing`). */
  readonly requiredInAws: boolean;
}

/** A secret that cannot be used, as the manifest's describe/warnings see it. */
export interface UnusableSecretView {
  readonly variable: string;
  /** The provider's app (Tencent SDKAppID, NetEase AppKey). */
  readonly appId: string;
  readonly refuses: readonly SecuredWork[];
  readonly reason: "blank" | "missing";
}

/** How an unusable secret reads in a config summary. */
export const describeUnusable = (secret: UnusableSecretView, provider: string): string =>
  `UNUSABLE (${secret.reason === "blank" ? "empty or whitespace" : "missing"}): ${provider} ${refusal(secret.refuses)}`;

function refusal(refuses: readonly SecuredWork[]): string {
  const answered = refuses.filter((work) => work !== "forwards");
  return [
    ...(answered.length > 0 ? [`${answered.join(" and ")} refused with 503`] : []),
    // Never a 503: the callback is recorded and answered; only the forward to the app is refused.
    ...(refuses.includes("forwards")
      ? ["forwards refused (before-send: the fallback policy; others dead-lettered as misconfigured)"]
      : []),
  ].join("; ");
}

/**
 * The functions a secret is bound to: whoever does the work it guards. Forwards are signed by the
 * recorder (before-send, synchronously) and by the forward queue's consumer, which runs with the
 * recorder's environment and secrets.
 */
export function functionsOf(secret: Pick<SecretSpec, "refuses">): FunctionRole[] {
  return [
    ...(secret.refuses.includes("callbacks") || secret.refuses.includes("forwards")
      ? (["recorder"] as const)
      : []),
    ...(secret.refuses.includes("edits") ? (["editor"] as const) : []),
  ];
}

/**
 * The app's callback URL (`<PREFIX>_CALLBACK_FORWARD_URL`): http or https (loadConfig requires https in
 * AWS). It may carry credentials, so only its origin is ever printed (`forwardOrigin`).
 */
export const ForwardUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** A forward URL as a config summary or a log line shows it: the origin only. */
export const forwardOrigin = (url: string): string => new URL(url).origin;

/**
 * CDK: the provider's props (`props[name]` on the stack) and `-c` context keys, and what each becomes
 * in the functions: a plain variable, or a secret ARN bound as `<secret>_SECRET_ARN`.
 */
export interface CdkBindings {
  /** `required`: every deployment has it (Tencent). `optional`: all of its required keys, or none. */
  readonly presence: "required" | "optional";
  readonly context: readonly CdkContextBinding[];
  /** The stack output naming the callback URL to configure at the provider. */
  readonly callbackOutput: { readonly id: string; readonly description: string };
}

export interface CdkContextBinding {
  /** The `-c` key (e.g. `sdkAppId`). */
  readonly key: string;
  /** The prop on the provider's props object (e.g. `sdkAppId`). */
  readonly prop: string;
  readonly description: string;
  readonly required?: boolean;
  /** `-c key=true|false`, a boolean prop. */
  readonly type?: "string" | "boolean";
  /** A plain variable in the functions; `default` when the prop is absent; booleans only when true. */
  readonly env?: {
    readonly variable: string;
    readonly functions: readonly FunctionRole[];
    readonly default?: string;
  };
  /** The prop is a secret's ARN: bound as `<secret>_SECRET_ARN` where the secret's work is done. */
  readonly secret?: string;
}

/** Registered manifests must have distinct names and id prefixes. */
export function checkManifests<M extends ProviderManifest>(manifests: readonly M[]): readonly M[] {
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const manifest of manifests) {
    if (names.has(manifest.name)) throw new Error(`provider ${manifest.name} is registered twice`);
    names.add(manifest.name);
    for (const prefix of manifest.idPrefixes) {
      if (prefixes.has(prefix)) throw new Error(`id prefix ${prefix} (${manifest.name}) is taken`);
      prefixes.add(prefix);
    }
  }
  return manifests;
}
