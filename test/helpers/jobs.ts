import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobProgress } from "../../console/src/format.ts";
import { SlidingWindowLimiter } from "../../functions/core/limiter.ts";
import { TencentRestClient } from "../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../functions/providers/tencent/usersig.ts";
import { TencentSimulator } from "../../local/simulators/tencent/api.ts";
import type { LocalStack, LocalStackOptions } from "../../local/stack.ts";
import { send } from "./http.ts";
import { API_TOKEN, api, CALLBACK_TOKEN, startTestStack } from "./stack.ts";
import { APP_ID } from "./tencent.ts";
import { tencentApp } from "./tencent-app.ts";

/** A request the logging proxy passed on: when it arrived (epoch ms, this process's clock) and its path. */
export interface LoggedRequest {
  readonly at: number;
  readonly path: string;
}

/**
 * A loopback HTTP proxy in front of a provider simulator that logs when each request arrives, so a test
 * can tell when provider calls started (e.g. none after a cancel was answered).
 */
export async function startLoggingProxy(target: string): Promise<{
  url: string;
  log: LoggedRequest[];
  close(): Promise<void>;
}> {
  const log: LoggedRequest[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    log.push({ at: Date.now(), path: (req.url ?? "").split("?")[0] ?? "" });
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Tencent simulator run by the test itself (it outlives the stacks pointed at it), behind a logging proxy. */
export async function startTencent(options: { ratePerSecond?: number } = {}) {
  const secretKey = randomBytes(32).toString("hex");
  const sim = await TencentSimulator.start({
    sdkAppId: APP_ID,
    secretKey,
    adminIdentifier: "administrator",
    callbackToken: CALLBACK_TOKEN,
    host: "127.0.0.1",
    ...(options.ratePerSecond !== undefined ? { ratePerSecond: options.ratePerSecond } : {}),
  });
  const proxy = await startLoggingProxy(sim.url);
  return {
    sim,
    proxy,
    secretKey,
    /** What a stack needs to use it (TENCENT_* variables). */
    env: { TENCENT_SECRET_KEY: secretKey, TENCENT_API_BASE_URL: proxy.url },
    /** Modify calls the proxy passed on, by arrival time. */
    modifies: () => proxy.log.filter((entry) => entry.path.endsWith("/modify_c2c_msg")),
    close: async () => {
      await proxy.close();
      await sim.close();
    },
  };
}

/** A test stack on the test's own simulator (callbacks pointed at the stack). */
export async function startJobStack(
  tencent: Awaited<ReturnType<typeof startTencent>>,
  options: Partial<LocalStackOptions> & { env?: Record<string, string> } = {},
): Promise<LocalStack> {
  const stack = await startTestStack({
    ...options,
    tencentSimulator: false,
    env: { ...tencent.env, ...options.env },
  });
  tencent.sim.setCallbackUrl(`${stack.url}/callbacks/tencent`);
  return stack;
}

export interface SeededMessage {
  readonly from: string;
  readonly to: string;
  readonly msgKey: string;
  readonly text: string;
}

/** The chat app's backend sending through the test's simulator directly (as tencentApp does for a stack). */
export function tencentSender(tencent: Awaited<ReturnType<typeof startTencent>>) {
  const rest = new TencentRestClient({
    baseUrl: tencent.sim.url,
    sdkAppId: APP_ID,
    identifier: "administrator",
    userSig: new UserSigCache(APP_ID, tencent.secretKey, "administrator"),
    limiter: new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 })),
  });
  return {
    async sendC2C(from: string, to: string, text: string): Promise<string> {
      const reply = await rest.call(
        "openim",
        "sendmsg",
        {
          From_Account: from,
          To_Account: to,
          MsgRandom: Math.floor(Math.random() * 4_294_967_295),
          MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
        },
        { deadline: Date.now() + 5_000, resendAfterSend: false },
      );
      return String(reply.MsgKey);
    },
  };
}

/** Sends `count` C2C messages from one sender (through the simulator: each is recorded from its callback). */
export async function seedMessages(
  target: LocalStack | { sendC2C(from: string, to: string, text: string): Promise<string> },
  count: number,
  text: (i: number) => string,
  from = `s-${randomBytes(4).toString("hex")}`,
): Promise<SeededMessage[]> {
  const app = "sendC2C" in target ? target : tencentApp(target);
  const sent: SeededMessage[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
        const to = `r-${i + j}`;
        const body = text(i + j);
        return { from, to, msgKey: await app.sendC2C(from, to, body), text: body };
      }),
    );
    sent.push(...batch);
  }
  return sent;
}

export interface JobBody extends JobProgress {
  readonly id: string;
  readonly error?: string;
  readonly preview?: { id: string; before: { text: string }; after: { text: string } }[];
}

export const getJob = async (url: string, id: string) => (await api(url, `/v1/edits/${id}`)).body as JobBody;

/** Polls the job until `until` holds (or the time is up: the last view is returned either way). */
export async function waitForJob(
  url: string,
  id: string,
  until: (job: JobBody) => boolean = (job) => ["done", "failed", "cancelled"].includes(job.status),
  timeoutMs = 20_000,
): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(url, id);
    if (until(job) || Date.now() > deadline) return job;
    await sleep(50);
  }
}

export const createJob = (url: string, body: unknown) => send(url, "POST", "/v1/edits", body);

export { API_TOKEN };
