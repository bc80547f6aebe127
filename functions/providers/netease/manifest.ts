import * as z from "../../zod.ts";
import { blank, flag, positiveInt } from "../env.ts";
import {
  describeUnusable,
  ForwardUrl,
  forwardOrigin,
  type ProviderManifest,
  type UnusableSecretView,
} from "../manifest.ts";
import { neteaseCodec } from "./codec.ts";
import { createNeteaseProvider, type NeteaseProviderConfig } from "./provider.ts";
import { NETEASE_REGIONS, type NeteaseRegion } from "./regions.ts";
import type { NeteaseForwardSettings } from "./relay.ts";

/** Yunxin's part of the environment: set NETEASE_APP_KEY (and its secret) to record and edit Yunxin messages. */
export const NeteaseEnv = z.object({
  NETEASE_APP_KEY: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  NETEASE_APP_SECRET: z.optional(z.string().check(z.minLength(1))),
  NETEASE_REGION: z._default(
    z.enum(Object.keys(NETEASE_REGIONS) as [NeteaseRegion, ...NeteaseRegion[]]),
    "cn" as NeteaseRegion,
  ),
  /** Replaces the region's gateway (`…/nimserver`); requests go to `${it}/im/v2/...`. */
  NETEASE_API_BASE_URL: z.optional(z.url()),
  /** Allowed age of a message copy's CurTime (ms) before it is refused as stale. */
  NETEASE_COPY_MAX_SKEW_MS: z._default(positiveInt, 10 * 60 * 1000),
  /** modifyMsg route_config.route_enabled: our edits come back as message copies (Yunxin's default). */
  NETEASE_ROUTE_ENABLED: z._default(flag, true),
  /** The account that edits at Yunxin; default each message's sender. */
  NETEASE_OPERATOR: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  NETEASE_RATE_LIMIT: z._default(positiveInt, 100),
  NETEASE_RATE_WINDOW_MS: z._default(positiveInt, 1000),
  /** At most one edit per message in this many ms (Yunxin: 1 s, else 107449). */
  NETEASE_MESSAGE_EDIT_INTERVAL_MS: z._default(positiveInt, 1100),
  /** Yunxin edits messages younger than 7 days; im-edit stops a margin before. */
  NETEASE_MAX_EDIT_AGE_MINUTES: z._default(positiveInt.check(z.maximum(7 * 24 * 60)), 7 * 24 * 60 - 10),
  /** The relay (issue 16): the app's own message-copy URL; every verified copy is forwarded there. */
  NETEASE_CALLBACK_FORWARD_URL: z.optional(ForwardUrl),
  /** The app's AppSecret, to sign forwards with (default NETEASE_APP_SECRET). */
  NETEASE_FORWARD_APP_SECRET: z.optional(z.string().check(z.minLength(1))),
});

/**
 * Where Yunxin copies are forwarded, and with which secret (the forward secret, else the AppSecret). Fail
 * closed: an unusable forward secret refuses every forward rather than signing with an empty key.
 */
function forwardSettings(
  url: string,
  e: z.output<typeof NeteaseEnv>,
  unusable: ReadonlySet<string>,
): NeteaseForwardSettings {
  if (unusable.has("NETEASE_FORWARD_APP_SECRET")) return { url, unusable: "NETEASE_FORWARD_APP_SECRET" };
  const appSecret = e.NETEASE_FORWARD_APP_SECRET ?? e.NETEASE_APP_SECRET;
  return { url, ...(appSecret !== undefined ? { appSecret } : {}) };
}

/** The relay's target (origin only: the URL may carry credentials) and which secret signs, never its value. */
function describeForward(
  forward: NeteaseForwardSettings,
  appSecret: string,
  unusable: readonly UnusableSecretView[],
) {
  const refused = unusable.find((secret) => secret.variable === forward.unusable);
  const secret = refused
    ? `NETEASE_FORWARD_APP_SECRET ${describeUnusable(refused, "netease")}`
    : forward.appSecret === appSecret
      ? "set (the AppSecret)"
      : "set (NETEASE_FORWARD_APP_SECRET)";
  return { target: forwardOrigin(forward.url), appSecret: secret };
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

export type NeteaseSettings = NeteaseProviderConfig & { readonly edit: NeteaseEditConfig };

/** NetEase Yunxin: message copies (`/callbacks/netease`) and modifyMsg. */
export const netease = {
  name: "netease",
  kinds: ["p2p", "team", "superteam"],
  idPrefixes: ["nim"],
  config: {
    schema: NeteaseEnv,
    settings: (e, unusable) =>
      e.NETEASE_APP_KEY !== undefined && e.NETEASE_APP_SECRET !== undefined
        ? {
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
            ...(e.NETEASE_CALLBACK_FORWARD_URL !== undefined
              ? { forward: forwardSettings(e.NETEASE_CALLBACK_FORWARD_URL, e, unusable) }
              : {}),
          }
        : undefined,
    appId: (e) => e.NETEASE_APP_KEY ?? "",
    forward: { urlVariable: "NETEASE_CALLBACK_FORWARD_URL" },
    problems: (e, unusable) =>
      e.NETEASE_APP_KEY !== undefined &&
      e.NETEASE_APP_SECRET === undefined &&
      !unusable.has("NETEASE_APP_SECRET")
        ? ["NETEASE_APP_SECRET: required when NETEASE_APP_KEY is set"]
        : [],
    describe: (settings, unusable) => {
      const secret = unusable.find((s) => s.variable === "NETEASE_APP_SECRET");
      if (settings) {
        return {
          appKey: settings.appKey,
          appSecret: "set",
          apiOrigin: new URL(settings.edit.baseUrl).origin,
          routeEnabled: settings.edit.routeEnabled,
          ...(settings.forward
            ? { forward: describeForward(settings.forward, settings.appSecret, unusable) }
            : {}),
        };
      }
      return secret
        ? { appKey: secret.appId, appSecret: `NETEASE_APP_SECRET ${describeUnusable(secret, "netease")}` }
        : "off (NETEASE_APP_KEY unset)";
    },
  },
  secrets: [
    /** Verifies NetEase message copies (CheckSum) and signs REST calls; matters only with an AppKey. */
    {
      variable: "NETEASE_APP_SECRET",
      refuses: ["callbacks", "edits"],
      requiredInAws: true,
      appliesTo: (env) => !blank(env.NETEASE_APP_KEY),
    },
    /** Signs the forwards to the app's handler (default: the AppSecret); matters only with a forward URL. */
    {
      variable: "NETEASE_FORWARD_APP_SECRET",
      refuses: ["forwards"],
      requiredInAws: false,
      appliesTo: (env) => !blank(env.NETEASE_APP_KEY) && !blank(env.NETEASE_CALLBACK_FORWARD_URL),
    },
  ],
  rateRule: (settings, key) =>
    // `netease:<app>:modifyMsg:<message id>`: one edit per message per interval.
    key.split(":").length > 3
      ? { limit: 1, windowMs: settings.edit.messageIntervalMs }
      : { limit: settings.edit.rateLimit, windowMs: settings.edit.rateWindowMs },
  createCallbacks: (settings) => createNeteaseProvider(settings),
  codec: neteaseCodec,
  cdk: {
    presence: "optional",
    context: [
      {
        key: "neteaseAppKey",
        prop: "appKey",
        description: "NetEase Yunxin AppKey (with neteaseRegion and neteaseAppSecretSecretArn)",
        required: true,
        env: { variable: "NETEASE_APP_KEY", functions: ["recorder", "editor"] },
      },
      {
        key: "neteaseRegion",
        prop: "region",
        description: "NetEase Yunxin region: cn or sg",
        required: true,
        env: { variable: "NETEASE_REGION", functions: ["recorder", "editor"] },
      },
      {
        key: "neteaseAppSecretSecretArn",
        prop: "appSecretSecretArn",
        description: "ARN of the secret holding the NetEase AppSecret",
        required: true,
        secret: "NETEASE_APP_SECRET",
      },
      {
        key: "neteaseForwardUrl",
        prop: "forwardUrl",
        description:
          "callback relay: your app's own Yunxin message copy URL (https); every verified copy is forwarded there",
        env: { variable: "NETEASE_CALLBACK_FORWARD_URL", functions: ["recorder"] },
      },
      {
        key: "neteaseForwardSecretArn",
        prop: "forwardSecretArn",
        description:
          "with neteaseForwardUrl: ARN of the secret holding the AppSecret forwards are signed with (default: the AppSecret)",
        secret: "NETEASE_FORWARD_APP_SECRET",
      },
    ],
    callbackOutput: { id: "NeteaseCallbackUrl", description: "Yunxin message copy URL" },
  } as const,
} satisfies ProviderManifest<typeof NeteaseEnv, NeteaseSettings>;
