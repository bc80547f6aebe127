import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  /** The body as sent, for checks JSON.parse would blur (big integers). */
  readonly raw: string;
}

/** What to do with the next request: answer JSON, answer a status, or drop the connection. */
export type Script = { json: unknown } | { status: number } | "reset";

/** A loopback HTTP server that answers requests from a script, in order, and records them. */
export async function scriptedServer(script: Script[]) {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    received.push({
      url: new URL(req.url ?? "/", "http://x"),
      method: req.method ?? "",
      headers: req.headers,
      body: JSON.parse(raw || "null"),
      raw,
    });
    const step = script.shift() ?? { json: { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" } };
    if (step === "reset") {
      req.socket.resetAndDestroy();
      return;
    }
    if ("status" in step) {
      res.writeHead(step.status).end("bad gateway");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(step.json));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
