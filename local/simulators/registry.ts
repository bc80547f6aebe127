import { randomBytes } from "node:crypto";
import type { Config } from "../../functions/config.ts";
import type { ProviderName } from "../../functions/core/model.ts";
import { NeteaseSimulator } from "./netease/api.ts";
import { TencentSimulator } from "./tencent/api.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** A running provider simulator, as the local stack drives it. */
export interface RunningSimulator {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A provider's local part: its simulator. Kept under local/ (registered here by name, beside the
 * provider's manifest in functions/) so that no simulator code reaches a Lambda bundle.
 */
export interface SimulatorManifest<S extends RunningSimulator = RunningSimulator> {
  readonly name: ProviderName;
  /** Simulate by default: when the real endpoint and credentials are not configured. */
  simulateByDefault(env: Env): boolean;
  /** Starts it on loopback; `env` is what the functions then see in its place (its URL, generated secrets). */
  start(env: Env, options: Readonly<Record<string, unknown>>): Promise<{ simulator: S; env: Env }>;
  /** Where it delivers callbacks (the local server's `/callbacks/<name>`). */
  connect(simulator: S, callbackUrl: string): void;
  /** What `npm run send` needs to play the provider (generated credentials, never real ones). */
  credentials?(simulator: S, config: Config): Record<string, unknown> | undefined;
  /** The start banner's line about it (default `<name>: simulated at <url>`). */
  banner?(simulator: S): string;
  /**
   * `npm run send -- <name> <from> <to> <text>`: sends a message through the running simulator with what
   * `credentials` wrote (read back from DATA_DIR), as an app backend would; returns what to print.
   */
  send?(credentials: Readonly<Record<string, string>>, message: SentMessage, apiUrl: string): Promise<string>;
}

export interface SentMessage {
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

/** A sender's short-lived limiter and deadline (a CLI sends one message). */
async function oneShot() {
  const { SlidingWindowLimiter } = await import("../../functions/core/limiter.ts");
  return {
    limiter: new SlidingWindowLimiter(() => ({ limit: 100, windowMs: 1000 })),
    deadline: Date.now() + 5_000,
  };
}

export const tencentSimulator: SimulatorManifest<TencentSimulator> = {
  name: "tencent",
  simulateByDefault: (env) => env.TENCENT_SECRET_KEY === undefined && env.TENCENT_API_BASE_URL === undefined,
  start: async (env, options) => {
    const secretKey = randomBytes(32).toString("hex");
    const simulator = await TencentSimulator.start({
      sdkAppId: env.TENCENT_SDKAPPID ?? "1400000000",
      secretKey,
      adminIdentifier: env.TENCENT_ADMIN_IDENTIFIER ?? "administrator",
      ...(env.TENCENT_CALLBACK_TOKEN !== undefined ? { callbackToken: env.TENCENT_CALLBACK_TOKEN } : {}),
      host: "127.0.0.1",
      ...options,
    });
    return { simulator, env: { TENCENT_SECRET_KEY: secretKey, TENCENT_API_BASE_URL: simulator.url } };
  },
  connect: (simulator, url) => simulator.setCallbackUrl(url),
  credentials: (simulator, config) =>
    config.tencent?.edit && {
      url: simulator.url,
      sdkAppId: config.tencent.sdkAppId,
      adminIdentifier: config.tencent.edit.adminIdentifier,
      secretKey: config.tencent.edit.secretKey,
    },
  banner: (simulator) =>
    `Tencent:         simulated at ${simulator.url} (no TENCENT_SECRET_KEY / TENCENT_API_BASE_URL set);`,
  send: async (sim, { from, to, text }, apiUrl) => {
    const { TencentRestClient } = await import("../../functions/providers/tencent/rest.ts");
    const { UserSigCache } = await import("../../functions/providers/tencent/usersig.ts");
    const { limiter, deadline } = await oneShot();
    const rest = new TencentRestClient({
      baseUrl: sim.url ?? "",
      sdkAppId: sim.sdkAppId ?? "",
      identifier: sim.adminIdentifier ?? "",
      userSig: new UserSigCache(sim.sdkAppId ?? "", sim.secretKey ?? "", sim.adminIdentifier ?? ""),
      limiter,
    });
    const reply = await rest.call(
      "openim",
      "sendmsg",
      {
        From_Account: from,
        To_Account: to,
        MsgRandom: Math.floor(Math.random() * 4_294_967_295),
        MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
      },
      { deadline, resendAfterSend: false },
    );
    // The whole natural key: one read by id, and no listing needed (LISTINGS=none answers it too).
    const key = new URLSearchParams({ from, to, msgKey: String(reply.MsgKey) });
    return `sent; MsgKey ${reply.MsgKey}\nlook it up: ${apiUrl}/v1/messages?provider=tencent&appId=${sim.sdkAppId}&${key}\n`;
  },
};

export const neteaseSimulator: SimulatorManifest<NeteaseSimulator> = {
  name: "netease",
  simulateByDefault: (env) => env.NETEASE_APP_SECRET === undefined && env.NETEASE_API_BASE_URL === undefined,
  start: async (env, options) => {
    const appKey = env.NETEASE_APP_KEY ?? "im-edit-local-appkey";
    const appSecret = randomBytes(16).toString("hex");
    const simulator = await NeteaseSimulator.start({ appKey, appSecret, host: "127.0.0.1", ...options });
    return {
      simulator,
      env: { NETEASE_APP_KEY: appKey, NETEASE_APP_SECRET: appSecret, NETEASE_API_BASE_URL: simulator.url },
    };
  },
  connect: (simulator, url) => simulator.setCopyUrl(url),
  credentials: (simulator, config) =>
    config.netease && {
      url: simulator.url,
      appKey: config.netease.appKey,
      appSecret: config.netease.appSecret,
    },
  banner: (simulator) =>
    `Yunxin:          simulated at ${simulator.url} (no NETEASE_APP_SECRET / NETEASE_API_BASE_URL set)`,
  send: async (sim, { from, to, text }, apiUrl) => {
    const { NeteaseRestClient } = await import("../../functions/providers/netease/rest.ts");
    const { limiter, deadline } = await oneShot();
    const rest = new NeteaseRestClient({
      baseUrl: sim.url ?? "",
      appKey: sim.appKey ?? "",
      appSecret: sim.appSecret ?? "",
      limiter,
    });
    const conversation = encodeURIComponent(`${from}|1|${to}`);
    const reply = await rest.call(
      "POST",
      `/im/v2/conversations/${conversation}/messages`,
      JSON.stringify({ message: { message_type: 0, text } }),
      { operation: "send", deadline, resendAfterSend: false, rateKeys: [] },
    );
    const msgId = String(reply.data?.message_server_id);
    return `sent; message_server_id ${msgId}\nlook it up: ${apiUrl}/v1/messages?provider=netease&appId=${sim.appKey}&msgId=${msgId}\n`;
  },
};

/** The simulators `npm start` runs: one line per provider that has one. */
export const SIMULATORS: readonly SimulatorManifest[] = [
  tencentSimulator as SimulatorManifest,
  neteaseSimulator as SimulatorManifest,
];
