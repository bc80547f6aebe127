import * as z from "../../zod.ts";
import { blank, flag, positiveInt } from "../env.ts";
import {
  describeUnusable,
  ForwardUrl,
  forwardOrigin,
  type ProviderManifest,
  type UnusableSecretView,
} from "../manifest.ts";
import { tencentCodec } from "./codec.ts";
import { createTencentProvider, type TencentProviderConfig } from "./provider.ts";
import { TENCENT_REGIONS, type TencentRegion, tencentBaseUrl } from "./regions.ts";
import type { TencentForwardSettings } from "./relay.ts";

/** Tencent's part of the environment (its config fragment). */
export const TencentEnv = z.object({
  TENCENT_SDKAPPID: z.string().check(z.regex(/^\d{1,20}$/, "must be the numeric SDKAppID")),
  TENCENT_CALLBACK_TOKEN: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  TENCENT_CALLBACK_MAX_SKEW_SECONDS: z._default(positiveInt, 60),
  TENCENT_RECORD_AVCHATROOM: z._default(flag, false),
  TENCENT_ADMIN_IDENTIFIER: z._default(z.string().check(z.minLength(1), z.maxLength(32)), "administrator"),
  /** The app's secret key: signs the admin UserSig. Without it im-edit records but cannot edit. */
  TENCENT_SECRET_KEY: z.optional(z.string().check(z.minLength(1))),
  TENCENT_REGION: z._default(
    z.enum(Object.keys(TENCENT_REGIONS) as [TencentRegion, ...TencentRegion[]]),
    "cn" as TencentRegion,
  ),
  /** Replaces `https://<region's domain>` (a simulator, a proxy); requests go to `${it}/v4/...`. */
  TENCENT_API_BASE_URL: z.optional(z.url()),
  /** At most this many modify calls per API in any rolling window (Tencent's cap is 200/s, shared with your own calls). */
  TENCENT_RATE_LIMIT: z._default(positiveInt, 180),
  TENCENT_RATE_WINDOW_MS: z._default(positiveInt, 1000),
  /** The relay (issue 16): the app's own callback URL; every verified callback is forwarded there. */
  TENCENT_CALLBACK_FORWARD_URL: z.optional(ForwardUrl),
  /** The app's callback token, to sign forwards with (default TENCENT_CALLBACK_TOKEN; neither: unsigned). */
  TENCENT_FORWARD_CALLBACK_TOKEN: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});

/**
 * Where Tencent callbacks are forwarded, and with which token: the forward token, else the callback token,
 * else none (unsigned, as im-edit received them). Fail closed: the token the forwards would use is
 * unusable, so every forward is refused rather than signed with an empty key (or sent unsigned).
 */
function forwardSettings(
  url: string,
  e: z.output<typeof TencentEnv>,
  unusable: ReadonlySet<string>,
): TencentForwardSettings {
  const variable =
    unusable.has("TENCENT_FORWARD_CALLBACK_TOKEN") || e.TENCENT_FORWARD_CALLBACK_TOKEN !== undefined
      ? "TENCENT_FORWARD_CALLBACK_TOKEN"
      : "TENCENT_CALLBACK_TOKEN";
  if (unusable.has(variable)) return { url, unusable: variable };
  const token = e.TENCENT_FORWARD_CALLBACK_TOKEN ?? e.TENCENT_CALLBACK_TOKEN;
  return { url, ...(token !== undefined ? { token } : {}) };
}

export interface TencentEditConfig {
  readonly adminIdentifier: string;
  readonly secretKey: string;
  readonly baseUrl: string;
  readonly rateLimit: number;
  readonly rateWindowMs: number;
}

/** What the Tencent factories get: the callback receiver's config, and editing when the secret key is set. */
export type TencentSettings = TencentProviderConfig & { readonly edit?: TencentEditConfig };

const unusableNamed = (unusable: readonly UnusableSecretView[], variable: string) =>
  unusable.find((secret) => secret.variable === variable);

/** The relay's target (origin only: the URL may carry credentials) and which token signs, never its value. */
function describeForward(
  forward: TencentForwardSettings,
  callbackToken: string | undefined,
  unusable: readonly UnusableSecretView[],
) {
  const refused = forward.unusable !== undefined ? unusableNamed(unusable, forward.unusable) : undefined;
  const token =
    forward.unusable !== undefined
      ? `${forward.unusable} ${refused ? describeUnusable(refused, "tencent") : "UNUSABLE"}`
      : forward.token === undefined
        ? "unset (forwarded without Sign/RequestTime)"
        : forward.token === callbackToken
          ? "set (the callback token)"
          : "set (TENCENT_FORWARD_CALLBACK_TOKEN)";
  return { target: forwardOrigin(forward.url), token };
}

/** Tencent Cloud Chat: callbacks (`/callbacks/tencent`) and modify_c2c_msg / modify_group_msg. */
export const tencent = {
  name: "tencent",
  kinds: ["c2c", "group"],
  idPrefixes: ["c2c", "grp", "pgrp"],
  config: {
    schema: TencentEnv,
    settings: (e, unusable) => ({
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
      ...(e.TENCENT_CALLBACK_FORWARD_URL !== undefined
        ? { forward: forwardSettings(e.TENCENT_CALLBACK_FORWARD_URL, e, unusable) }
        : {}),
    }),
    appId: (e) => e.TENCENT_SDKAPPID,
    forward: { urlVariable: "TENCENT_CALLBACK_FORWARD_URL" },
    describe: (settings, unusable) => {
      if (!settings) return undefined;
      const state = (variable: string, set: boolean): string => {
        const secret = unusableNamed(unusable, variable);
        return secret ? `${variable} ${describeUnusable(secret, "tencent")}` : set ? "set" : "unset";
      };
      const key = unusableNamed(unusable, "TENCENT_SECRET_KEY");
      return {
        sdkAppId: settings.sdkAppId,
        callbackToken: state("TENCENT_CALLBACK_TOKEN", settings.callbackToken !== undefined),
        recordAvChatRoom: settings.recordAvChatRoom,
        editing: settings.edit
          ? {
              adminIdentifier: settings.edit.adminIdentifier,
              secretKey: "set",
              // Only the origin: a configured URL could carry credentials in its path or query.
              apiOrigin: new URL(settings.edit.baseUrl).origin,
              rate: `${settings.edit.rateLimit}/${settings.edit.rateWindowMs}ms`,
            }
          : key
            ? `TENCENT_SECRET_KEY ${describeUnusable(key, "tencent")}`
            : "off (TENCENT_SECRET_KEY unset)",
        ...(settings.forward
          ? { forward: describeForward(settings.forward, settings.callbackToken, unusable) }
          : {}),
      };
    },
    callbackWarnings: (settings, unusable) =>
      settings && settings.callbackToken === undefined && !unusableNamed(unusable, "TENCENT_CALLBACK_TOKEN")
        ? ["TENCENT_CALLBACK_TOKEN is not set: Tencent callbacks are accepted unsigned"]
        : [],
  },
  secrets: [
    /** Verifies Tencent callbacks (`Sign`). Unset locally: accepted unsigned, with a warning. */
    { variable: "TENCENT_CALLBACK_TOKEN", refuses: ["callbacks"], requiredInAws: true },
    /** Signs the admin UserSig for edits. Unset: editing Tencent messages is off. */
    { variable: "TENCENT_SECRET_KEY", refuses: ["edits"], requiredInAws: false },
    /** Signs the forwards to the app's handler (default: the callback token); matters only with a forward URL. */
    {
      variable: "TENCENT_FORWARD_CALLBACK_TOKEN",
      refuses: ["forwards"],
      requiredInAws: false,
      appliesTo: (env) => !blank(env.TENCENT_CALLBACK_FORWARD_URL),
    },
  ],
  rateRule: (settings, _key) =>
    settings.edit ? { limit: settings.edit.rateLimit, windowMs: settings.edit.rateWindowMs } : undefined,
  createCallbacks: (settings) => createTencentProvider(settings),
  codec: tencentCodec,
  cdk: {
    presence: "required",
    context: [
      {
        key: "sdkAppId",
        prop: "sdkAppId",
        description: "required: Tencent SDKAppID (numeric)",
        required: true,
        env: { variable: "TENCENT_SDKAPPID", functions: ["recorder", "editor"] },
      },
      {
        key: "callbackTokenSecretArn",
        prop: "callbackTokenSecretArn",
        description: "required: ARN of the secret holding the Tencent callback token",
        required: true,
        secret: "TENCENT_CALLBACK_TOKEN",
      },
      {
        key: "secretKeySecretArn",
        prop: "secretKeySecretArn",
        description: "required: ARN of the secret holding the Tencent app secret key",
        required: true,
        secret: "TENCENT_SECRET_KEY",
      },
      {
        key: "tencentRegion",
        prop: "region",
        description: "Tencent data center: cn, sgp, kr, jpn, ger, ind, usa, idn (default cn)",
        env: { variable: "TENCENT_REGION", functions: ["editor"], default: "cn" },
      },
      {
        key: "adminIdentifier",
        prop: "adminIdentifier",
        description: "Tencent admin account the editor acts as (default administrator)",
        env: {
          variable: "TENCENT_ADMIN_IDENTIFIER",
          functions: ["recorder", "editor"],
          default: "administrator",
        },
      },
      {
        key: "recordAvChatRoom",
        prop: "recordAvChatRoom",
        description: "true to record live-group messages (default false)",
        type: "boolean",
        env: { variable: "TENCENT_RECORD_AVCHATROOM", functions: ["recorder"] },
      },
      {
        key: "tencentForwardUrl",
        prop: "forwardUrl",
        description:
          "callback relay: your app's own Tencent callback URL (https); every verified callback is forwarded there",
        env: { variable: "TENCENT_CALLBACK_FORWARD_URL", functions: ["recorder"] },
      },
      {
        key: "tencentForwardTokenSecretArn",
        prop: "forwardTokenSecretArn",
        description:
          "with tencentForwardUrl: ARN of the secret holding the token forwards are signed with (default: the callback token)",
        secret: "TENCENT_FORWARD_CALLBACK_TOKEN",
      },
    ],
    callbackOutput: { id: "TencentCallbackUrl", description: "Tencent console callback URL" },
  } as const,
} satisfies ProviderManifest<typeof TencentEnv, TencentSettings>;
