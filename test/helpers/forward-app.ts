import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ForwardFailure, forwardOf } from "../../functions/core/forwarding.ts";
import type { CallbackRelay, Forward } from "../../functions/core/relay.ts";

/** What the app's handler received, once per request. */
export interface AppReceived {
  readonly url: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

/**
 * The app's own callback handler on loopback, answering as the test scripts it (`answer` is called for the
 * n-th request, 0-based), keeping every request it received. `close` ends it and its connections.
 */
export async function forwardApp(
  answer: (n: number, req: AppReceived, res: ServerResponse) => void = (_n, _req, res) => res.end(),
) {
  const received: AppReceived[] = [];
  const app = { answer, received, url: "", close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = req.url ?? "/";
      const got = {
        url,
        query: new URL(url, "http://app").searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(got);
      app.answer(received.length - 1, got, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app/callback`;
  app.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return app;
}

export const APP_TOKEN = "the-apps-own-token";

/** Tencent's `Sign`: sha256 hex of token + RequestTime. */
export const appSign = (requestTime: string, token = APP_TOKEN) =>
  createHash("sha256")
    .update(token + requestTime)
    .digest("hex");

/** A Tencent-like relay to `url`: `Sign`/`RequestTime` recomputed with the app's token at each attempt. */
export function signingRelay(url: string, token = APP_TOKEN): CallbackRelay {
  return {
    url,
    headers: [],
    signatureParams: ["Sign", "RequestTime"],
    synchronous: () => false,
    sign: (forward, now) => {
      const params = new URLSearchParams(forward.rawQuery);
      const requestTime = String(Math.floor(now.getTime() / 1000));
      params.set("RequestTime", requestTime);
      params.set("Sign", appSign(requestTime, token));
      return { rawQuery: params.toString(), headers: forward.headers };
    },
  };
}

/** The forward of a Tencent after-send callback received with `body`, for a queue to carry. */
export function tencentForward(body: string): Forward {
  return forwardOf(
    {
      query: {},
      rawQuery: "SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&RequestTime=1&Sign=x",
      headers: { "content-type": "application/json" },
      body: Buffer.from(body),
      receivedAt: new Date("2026-11-23T12:00:00.000Z"),
    },
    "tencent",
    signingRelay("http://127.0.0.1:9/unused"),
  );
}

/** A clock that moves on a second at every reading: each attempt signs at another RequestTime. */
export function tickingClock(start = Date.parse("2026-11-23T12:00:00.000Z")) {
  let t = start;
  return () => {
    const now = new Date(t);
    t += 1000;
    return now;
  };
}

/** The ForwardFailure `promise` rejects with; anything else (an answer, another error) fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<ForwardFailure> {
  const thrown = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(thrown instanceof ForwardFailure))
    throw new Error(`expected a ForwardFailure, got ${String(thrown)}`);
  return thrown;
}
