import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { tencentSign } from "../../functions/providers/tencent/verify.ts";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack.ts";
import { APP_ID } from "./tencent.ts";

export const API_TOKEN = "test-api-token";
export const CALLBACK_TOKEN = "xxxxyyyy";

/** The real local stack (in-memory dynalite, real handlers, real HTTP on loopback). */
export async function startTestStack(
  options: Partial<LocalStackOptions> & { env?: Record<string, string> } = {},
): Promise<LocalStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-test-"));
  return startLocalStack({
    host: "127.0.0.1",
    port: 0,
    apiToken: API_TOKEN,
    persist: false,
    drainIntervalMs: 60_000,
    ...options,
    env: {
      TABLE_NAME: "im-edit-test",
      AWS_REGION: "local",
      TENCENT_SDKAPPID: APP_ID,
      TENCENT_CALLBACK_TOKEN: CALLBACK_TOKEN,
      DATA_DIR: dataDir,
      ...options.env,
    },
  });
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

async function reply(response: Awaited<ReturnType<typeof request>>): Promise<Reply> {
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    body: text === "" ? undefined : JSON.parse(text),
  };
}

/** Posts a Tencent callback the way Tencent does: signed query string, JSON body. */
export async function postTencent(
  url: string,
  body: unknown,
  options: {
    query?: Record<string, string>;
    headers?: Record<string, string>;
    raw?: string | Buffer;
    now?: Date;
  } = {},
): Promise<Reply> {
  const requestTime = String(Math.floor((options.now ?? new Date()).getTime() / 1000));
  const command =
    body !== null && typeof body === "object" && "CallbackCommand" in body
      ? String(body.CallbackCommand)
      : "C2C.CallbackAfterSendMsg";
  const query = new URLSearchParams({
    SdkAppid: APP_ID,
    CallbackCommand: command,
    contenttype: "json",
    ClientIP: "127.0.0.1",
    OptPlatform: "RESTAPI",
    RequestTime: requestTime,
    Sign: tencentSign(CALLBACK_TOKEN, requestTime),
    ...options.query,
  });
  return reply(
    await request(`${url}/callbacks/tencent?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: options.raw ?? JSON.stringify(body),
    }),
  );
}

/** GET an API route with the bearer token (`null`: without one). */
export async function api(url: string, path: string, token: string | null = API_TOKEN): Promise<Reply> {
  return reply(
    await request(`${url}${path}`, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    }),
  );
}
