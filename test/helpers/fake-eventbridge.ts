import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A PutEvents entry as it arrives on the wire. */
export interface WireEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
  readonly Time?: number;
}

export interface FakeEventBridge {
  readonly url: string;
  /** Every PutEvents request's entries, in arrival order. */
  readonly requests: WireEntry[][];
  /** The entries taken (answered with an EventId). */
  readonly accepted: WireEntry[];
  /** Decides an entry's fate: an ErrorCode fails it (a partial failure); undefined takes it. */
  failWith: (entry: WireEntry) => string | undefined;
  /** Delays every answer (a slow endpoint). */
  delayMs: number;
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;

/**
 * EventBridge's PutEvents on loopback, speaking its JSON protocol (AWS JSON 1.1, `X-Amz-Target:
 * AWSEvents.PutEvents`): it refuses what EventBridge refuses (more than 10 entries or 256 KB per request,
 * unsigned requests) and answers partial failures the way EventBridge does (`FailedEntryCount`, per-entry
 * `ErrorCode`, in request order).
 */
export async function startFakeEventBridge(): Promise<FakeEventBridge> {
  const fake: Omit<FakeEventBridge, "url" | "close"> = {
    requests: [],
    accepted: [],
    failWith: () => undefined,
    delayMs: 0,
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      answer(res, 500, { __type: "InternalException", message: String(error) });
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (fake.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
    if (req.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
      return answer(res, 400, { __type: "UnknownOperationException" });
    }
    if (!String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1")) {
      return answer(res, 400, { __type: "SerializationException", message: "content type" });
    }
    if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) {
      return answer(res, 400, { __type: "MissingAuthenticationTokenException" });
    }
    const entries = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries: WireEntry[] }).Entries;
    fake.requests.push(entries);
    const size = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (entries.length > MAX_ENTRIES || size > MAX_BYTES) {
      return answer(res, 400, {
        __type: "ValidationException",
        message: `${entries.length} entries, ${size} bytes: over the limits`,
      });
    }
    let failed = 0;
    const results = entries.map((entry) => {
      const code = fake.failWith(entry);
      if (code !== undefined) {
        failed++;
        return { ErrorCode: code, ErrorMessage: `fake: ${code}` };
      }
      fake.accepted.push(entry);
      return { EventId: randomUUID() };
    });
    answer(res, 200, { FailedEntryCount: failed, Entries: results });
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

export function entrySize(entry: WireEntry): number {
  return (
    (entry.Time !== undefined ? 14 : 0) +
    Buffer.byteLength(entry.Source ?? "") +
    Buffer.byteLength(entry.DetailType ?? "") +
    Buffer.byteLength(entry.Detail ?? "") +
    (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0)
  );
}

/** Client settings that point the SDK at the fake: endpoint, region, static credentials. */
export const fakeClientConfig = (url: string) => ({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDFAKE", secretAccessKey: "fake-secret" },
});
