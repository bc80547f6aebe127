import type { CallbackRequest } from "../../functions/core/provider.ts";
import {
  createTencentProvider,
  type TencentProviderConfig,
} from "../../functions/providers/tencent/provider.ts";

export const APP_ID = "1400000000";

export function tencentProvider(overrides: Partial<TencentProviderConfig> = {}) {
  return createTencentProvider({
    sdkAppId: APP_ID,
    maxSkewSeconds: 60,
    recordAvChatRoom: false,
    adminIdentifier: "administrator",
    ...overrides,
  });
}

export function callbackRequest(body: unknown, query: Record<string, string> = {}): CallbackRequest {
  const command =
    body !== null && typeof body === "object" && "CallbackCommand" in body
      ? String(body.CallbackCommand)
      : undefined;
  return {
    query: {
      SdkAppid: APP_ID,
      ...(command ? { CallbackCommand: command } : {}),
      contenttype: "json",
      ...query,
    },
    headers: {},
    body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
    receivedAt: new Date("2026-11-23T12:00:00.000Z"),
  };
}
