import type { Config } from "../config.ts";
import type { RateLimiter, RateRule } from "../core/limiter.ts";
import type { ProviderName } from "../core/model.ts";
import type { ProviderEditor } from "../core/provider.ts";
import { createNeteaseEditor } from "./netease/editor.ts";
import { NeteaseRestClient } from "./netease/rest.ts";
import { createTencentEditor } from "./tencent/editor.ts";
import { TencentRestClient } from "./tencent/rest.ts";
import { UserSigCache } from "./tencent/usersig.ts";

/** Editors for the providers whose credentials are configured; all share one rate limiter. */
export function createEditors(
  config: Config,
  limiter: RateLimiter,
): ReadonlyMap<ProviderName, ProviderEditor> {
  const editors = new Map<ProviderName, ProviderEditor>();
  const tencent = config.tencent;
  if (tencent?.edit) {
    const rest = new TencentRestClient({
      baseUrl: tencent.edit.baseUrl,
      sdkAppId: tencent.sdkAppId,
      identifier: tencent.edit.adminIdentifier,
      userSig: new UserSigCache(tencent.sdkAppId, tencent.edit.secretKey, tencent.edit.adminIdentifier),
      limiter,
    });
    editors.set("tencent", createTencentEditor({ sdkAppId: tencent.sdkAppId, rest }));
  }
  const netease = config.netease;
  if (netease) {
    const rest = new NeteaseRestClient({
      baseUrl: netease.edit.baseUrl,
      appKey: netease.appKey,
      appSecret: netease.appSecret,
      limiter,
    });
    editors.set(
      "netease",
      createNeteaseEditor({
        appKey: netease.appKey,
        rest,
        routeEnabled: netease.edit.routeEnabled,
        maxAgeMs: netease.edit.maxAgeMs,
        ...(netease.edit.operator !== undefined ? { operator: netease.edit.operator } : {}),
      }),
    );
  }
  return editors;
}

/** The rate rule for a limiter key (`<provider>:<app>:<api>`). */
export function rateRule(config: Config): (key: string) => RateRule {
  return (key: string) => {
    if (key.startsWith("tencent:") && config.tencent?.edit) {
      return { limit: config.tencent.edit.rateLimit, windowMs: config.tencent.edit.rateWindowMs };
    }
    if (key.startsWith("netease:") && config.netease) {
      const { edit } = config.netease;
      // `netease:<app>:modifyMsg:<message id>`: one edit per message per interval.
      if (key.split(":").length > 3) return { limit: 1, windowMs: edit.messageIntervalMs };
      return { limit: edit.rateLimit, windowMs: edit.rateWindowMs };
    }
    return { limit: 1, windowMs: 1000 };
  };
}
