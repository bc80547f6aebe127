import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RateLimiter, SlidingWindowLimiter } from "../functions/core/limiter.ts";
import type { Store } from "../functions/core/store.ts";
import { c2cId } from "../functions/providers/tencent/identity.ts";
import { TencentRestClient } from "../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../functions/providers/tencent/usersig.ts";
import type { TencentSimulator } from "../local/simulators/tencent/api.ts";
import { type LocalStack, startLocalStack } from "../local/stack.ts";
import { APP_ID, randomUint32 } from "./callbacks.ts";

/**
 * Shared by the edit benchmarks: the local stack with the Tencent simulator (real handlers, loopback
 * only) on what `npm start` runs by default, the embedded SQLite store persisted under a temporary
 * DATA_DIR; an admin REST client of our own, C2C messages sent through the simulator's sendmsg (so the
 * recorder records them from its callbacks, as in production), and a few probes.
 */
export const API_TOKEN = "bench-edit";

export interface EditStackOptions {
  /**
   * The store the handlers use, built in the stack's DATA_DIR (e.g. a counting wrapper around a
   * persisted SqliteStore, or a DynamoStore reporting its capacity). Default: the stack's own.
   */
  readonly store?: (dataDir: string) => { readonly store: Store; close?(): void };
  /** Run on the DynamoDB adapter at this endpoint instead of the embedded store. */
  readonly dynamodbEndpoint?: string;
  /** Keep the embedded store in memory (a lighter variant than `npm start`'s); default false. */
  readonly inMemory?: boolean;
}

export interface EditStack {
  readonly stack: LocalStack;
  readonly sim: TencentSimulator;
  /** A tag unique to this run, for account names and texts. */
  readonly run: string;
  close(): Promise<void>;
}

export async function startEditStack(
  env: Readonly<Record<string, string>> = {},
  options: EditStackOptions = {},
): Promise<EditStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "im-edit-bench-"));
  let stack: LocalStack | undefined;
  let own: { readonly store: Store; close?(): void } | undefined;
  try {
    own = options.store?.(dataDir);
    const store = own?.store;
    stack = await startLocalStack({
      env: {
        TABLE_NAME: "im-edit-bench",
        AWS_REGION: "local",
        TENCENT_SDKAPPID: APP_ID,
        DATA_DIR: dataDir,
        ...env,
      },
      host: "127.0.0.1",
      port: 0,
      apiToken: API_TOKEN,
      // A store of the caller's replaces the stack's own, which then stays in memory and idle.
      persist: store === undefined && options.inMemory !== true,
      ...(store !== undefined ? { overrides: { store } } : {}),
      ...(options.dynamodbEndpoint !== undefined ? { dynamodbEndpoint: options.dynamodbEndpoint } : {}),
      // Leave anything spooled in the spool, so the checks see it instead of a late drain.
      drainIntervalMs: 60_000,
      tencentSimulator: true,
    });
    const sim = stack.tencent;
    if (sim === undefined) throw new Error("the local stack started without the Tencent simulator");
    const started = stack;
    return {
      stack: started,
      sim,
      run: randomBytes(4).toString("hex"),
      close: async () => {
        await started.close();
        own?.close?.();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error: unknown) {
    await stack?.close();
    own?.close?.();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** An admin REST client to the stack's simulator with its own UserSig cache and the given limiter. */
export function adminClient(stack: LocalStack, limiter: RateLimiter): TencentRestClient {
  const tencent = stack.config.tencent;
  const edit = tencent?.edit;
  if (tencent === undefined || edit === undefined) throw new Error("the stack has no Tencent credentials");
  return new TencentRestClient({
    baseUrl: edit.baseUrl,
    sdkAppId: tencent.sdkAppId,
    identifier: edit.adminIdentifier,
    userSig: new UserSigCache(tencent.sdkAppId, edit.secretKey, edit.adminIdentifier),
    limiter,
  });
}

export const textBody = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];

/** The first text of a Tencent MsgBody, if any. */
export function textOf(msgBody: unknown): string | undefined {
  if (!Array.isArray(msgBody)) return undefined;
  const element = msgBody.find(
    (e: unknown): e is { MsgType: string; MsgContent: { Text?: unknown } } =>
      typeof e === "object" && e !== null && (e as { MsgType?: unknown }).MsgType === "TIMTextElem",
  );
  return typeof element?.MsgContent.Text === "string" ? element.MsgContent.Text : undefined;
}

export interface SentMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly msgKey: string;
}

/** Below the simulator's 200/s per API: sendmsg has its own bucket, separate from modify_c2c_msg. */
const SEND_RATE = 190;
const SEND_CONCURRENCY = 32;

/**
 * Sends `count` C2C messages (each its own sender/recipient pair) through the simulator's sendmsg and
 * waits until every one is recorded. Paced by a SlidingWindowLimiter at 190/s, which holds each slot
 * from send until answer + 1 s, so the simulator never sees more than 190 in any second.
 */
export async function sendMessages(edit: EditStack, count: number, tag: string): Promise<SentMessage[]> {
  const client = adminClient(
    edit.stack,
    new SlidingWindowLimiter(() => ({ limit: SEND_RATE, windowMs: 1000 })),
  );
  const messages: SentMessage[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const from = `${tag}-${edit.run}-u${i}`;
      const to = `${tag}-${edit.run}-v${i}`;
      const reply = await client.call(
        "openim",
        "sendmsg",
        { From_Account: from, To_Account: to, MsgRandom: randomUint32(), MsgBody: textBody(`hello ${i}`) },
        { deadline: Date.now() + 10_000, resendAfterSend: false },
      );
      const msgKey = String(reply.MsgKey);
      messages[i] = { id: c2cId(APP_ID, from, to, msgKey), from, to, msgKey };
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, count) }, worker));
  // The after-send callback is delivered before sendmsg answers; a callback that had to be spooled is
  // replayed once, and anything still missing then is an error.
  let missing = await unrecorded(edit.stack, messages);
  if (missing.length > 0) {
    await edit.stack.drain();
    missing = await unrecorded(edit.stack, messages);
  }
  if (missing.length > 0) throw new Error(`${missing.length} of ${count} sent messages were not recorded`);
  return messages;
}

async function unrecorded(stack: LocalStack, messages: readonly SentMessage[]): Promise<SentMessage[]> {
  const found = await inChunks(messages, async (m) => (await stack.deps.store.getHead(m.id))?.version === 1);
  return messages.filter((_, i) => !found[i]);
}

/** Maps over `items` with at most `size` calls in flight (keeps dynalite reads bounded). */
export async function inChunks<T, R>(
  items: readonly T[],
  f: (item: T) => Promise<R>,
  size = 50,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(f))));
  }
  return results;
}

/**
 * The simulator's side of one API, seen through node:http's diagnostics channels in this process:
 * when each request arrived (what the simulator's rate window counts) and how long it took to answer
 * (for modify: including the after-modify callback delivered before the answer).
 */
export class SimulatorProbe {
  readonly arrivals: number[] = [];
  /** Per answered request: when it arrived and how long the answer took. */
  readonly answers: Array<{ readonly at: number; readonly ms: number }> = [];
  private readonly started = new WeakMap<ServerResponse, number>();
  private readonly onStart = (message: unknown) => {
    const { server, request, response } = message as {
      server: Server;
      request: IncomingMessage;
      response: ServerResponse;
    };
    if ((server.address() as AddressInfo | null)?.port !== this.port) return;
    if (!(request.url ?? "").startsWith(this.path)) return;
    const now = performance.now();
    this.arrivals.push(now);
    this.started.set(response, now);
  };
  private readonly onFinish = (message: unknown) => {
    const start = this.started.get((message as { response: ServerResponse }).response);
    if (start !== undefined) this.answers.push({ at: start, ms: performance.now() - start });
  };
  private readonly port: number;

  constructor(
    simulatorUrl: string,
    private readonly path: string,
  ) {
    this.port = Number(new URL(simulatorUrl).port);
    subscribe("http.server.request.start", this.onStart);
    subscribe("http.server.response.finish", this.onFinish);
  }

  close(): void {
    unsubscribe("http.server.request.start", this.onStart);
    unsubscribe("http.server.response.finish", this.onFinish);
  }
}
