import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createForwarder } from "../../../../functions/adapters/relay/http-forwarder.ts";
import type { ForwardRequest } from "../../../../functions/core/relay.ts";
import { failureOf } from "../../../helpers/forward-app.ts";

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

/** A loopback app whose answer each test sets; it keeps what it received and counts its connections. */
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
const received: Received[] = [];
let connections = 0;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const forwarders: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(forwarders.splice(0).map((f) => f.close()));
  received.length = 0;
  connections = 0;
  server.closeAllConnections();
});

function forwarder(maxResponseBytes = 1024) {
  const f = createForwarder({ maxResponseBytes, connectTimeoutMs: 500 });
  forwarders.push(f);
  return f;
}

const BODY = Buffer.from([0x7b, 0x22, 0xe4, 0xbd, 0xa0, 0x22, 0x3a, 0x31, 0x7d, 0x00, 0xff]);

function request(path = "/callback?SdkAppid=1&Sign=s3cr3t-sign&RequestTime=1"): ForwardRequest {
  return {
    url: `${base}${path}`,
    headers: { "content-type": "application/json", "x-im-edit-forward-id": "f-1" },
    body: BODY,
  };
}

describe("createForwarder (undici, loopback app)", () => {
  it("POSTs the body bytes, query and headers as given, and returns a 2xx answer's body", async () => {
    // Prepare
    answer = (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":1}');
    const f = forwarder();

    // Act
    const result = await f.send(request(), 1000);

    // Assess
    expect(result.status).toBe(200);
    expect(result.body.toString()).toBe('{"ok":1}');
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe("POST");
    expect(received[0]?.url).toBe("/callback?SdkAppid=1&Sign=s3cr3t-sign&RequestTime=1");
    expect(received[0]?.body.equals(BODY)).toBe(true);
    expect(received[0]?.headers).toMatchObject({
      "content-type": "application/json",
      "x-im-edit-forward-id": "f-1",
      "content-length": String(BODY.length),
    });
  });

  it("reuses its pooled connection for the next forward to the same origin", async () => {
    // Prepare
    answer = (_req, res) => res.end("ok");
    const f = forwarder();

    // Act
    for (let i = 0; i < 3; i++) {
      await f.send(request(), 1000);
      // undici frees the socket for the pool a moment after the answer was read.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Assess
    expect(received).toHaveLength(3);
    expect(connections).toBe(1);
  });

  it("never follows a redirect: the 3xx is the answer", async () => {
    // Prepare
    answer = (req, res) =>
      req.url?.startsWith("/moved")
        ? res.end("followed")
        : res.writeHead(307, { location: `${base}/moved` }).end();
    const f = forwarder();

    // Act
    const result = await f.send(request(), 1000);

    // Assess
    expect(result.status).toBe(307);
    expect(received.map((r) => r.url?.split("?")[0])).toEqual(["/callback"]);
  });

  it("gives up on an app that does not answer in time: timeout, retryable, no query in the message", async () => {
    // Prepare
    answer = (_req, res) => setTimeout(() => res.end("late"), 1_000).unref();
    const f = forwarder();
    const started = Date.now();

    // Act
    const failure = await failureOf(f.send(request(), 150));

    // Assess
    expect(Date.now() - started).toBeLessThan(900);
    expect(failure.retryable).toBe(true);
    expect(failure.reason.code).toBe("timeout");
    expect(failure.message).toBe(`${base}/callback did not answer within 150 ms`);
    expect(failure.message).not.toContain("s3cr3t");
  });

  it("gives up on an answer whose body trickles past the budget", async () => {
    // Prepare
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
      setTimeout(() => res.end("b"), 1_000).unref();
    };
    const f = forwarder();

    // Act
    const failure = await failureOf(f.send(request(), 150));

    // Assess
    expect(failure.reason.code).toBe("timeout");
  });

  it("refuses an answer over the cap, declared or streamed, and keeps working afterwards", async () => {
    // Prepare
    let chunked = false;
    answer = (req, res) => {
      if (req.url?.startsWith("/small")) return void res.end("fine");
      if (!chunked) return void res.writeHead(200, { "content-length": "2048" }).end("x".repeat(2048));
      res.writeHead(200);
      for (let i = 0; i < 8; i++) res.write("y".repeat(200));
      res.end();
    };
    const f = forwarder(1024);

    // Act
    const declared = await failureOf(f.send(request(), 1000));
    chunked = true;
    const streamed = await failureOf(f.send(request(), 1000));
    const next = await f.send(request("/small"), 1000);

    // Assess
    for (const failure of [declared, streamed]) {
      expect(failure.retryable).toBe(true);
      expect(failure.reason.code).toBe("too_large");
    }
    expect(next).toEqual({ status: 200, body: Buffer.from("fine") });
  });

  it("answers at the cap exactly are read whole", async () => {
    // Prepare
    answer = (_req, res) => res.end("z".repeat(1024));
    const f = forwarder(1024);

    // Act
    const result = await f.send(request(), 1000);

    // Assess
    expect(result.body.length).toBe(1024);
  });

  it("reports an app that is down as unreachable, retryable", async () => {
    // Prepare
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const f = forwarder();

    // Act
    const failure = await failureOf(
      f.send({ ...request(), url: `http://127.0.0.1:${port}/cb?Sign=s3cr3t` }, 1000),
    );

    // Assess
    expect(failure.retryable).toBe(true);
    expect(failure.reason).toEqual({
      code: "unreachable",
      message: `http://127.0.0.1:${port}/cb could not be reached (ECONNREFUSED)`,
    });
  });

  it("stops when the caller cancels", async () => {
    // Prepare
    answer = (_req, res) => setTimeout(() => res.end("late"), 1_000).unref();
    const f = forwarder();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    // Act
    const failure = await failureOf(f.send(request(), 5_000, controller.signal));

    // Assess
    expect(failure.reason.code).toBe("cancelled");
  });
});
