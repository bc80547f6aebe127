import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { text as readAll } from "node:stream/consumers";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { fromAttributeValues } from "../functions/adapters/dynamodb/items.ts";
import { itemSize } from "../functions/adapters/dynamodb/size.ts";
import { SERVICE_MS } from "./limiter-job.ts";

/**
 * The loopback servers the limiter benchmark's processes talk to: the store behind a proxy that notes
 * each DynamoDB call, and the fake provider that stamps each call's arrival.
 */
export interface StoreCall {
  readonly at: number;
  readonly op: string;
  readonly pk: string;
  readonly units: number;
  readonly bytes: number;
  readonly read: boolean;
}

/** An HTTP proxy in front of the store that notes each DynamoDB call: operation, key, size, units. */
export async function countingProxy(target: string, calls: StoreCall[]) {
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    const body = await readAll(req);
    const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "?";
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      async (answer: IncomingMessage) => {
        const text = await readAll(answer);
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        res.end(text);
        noteCall(calls, op, body, text);
      },
    );
    forward.on("error", () => {
      res.writeHead(502).end();
    });
    forward.end(body);
  });
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

function noteCall(calls: StoreCall[], op: string, requestText: string, answerText: string): void {
  try {
    const input = JSON.parse(requestText) as {
      Key?: Record<string, AttributeValue>;
      Item?: Record<string, AttributeValue>;
    };
    const answer = answerText ? (JSON.parse(answerText) as { Item?: Record<string, AttributeValue> }) : {};
    const keyItem = input.Item ?? input.Key ?? {};
    const pk = String(fromAttributeValues(keyItem).pk ?? "?");
    const read = op === "GetItem" || op === "Query";
    let size = 0;
    if (read && answer.Item) size = itemSize(fromAttributeValues(answer.Item));
    if (!read && input.Item) size = itemSize(fromAttributeValues(input.Item));
    const units = read ? Math.max(1, Math.ceil(size / 4096)) : Math.max(1, Math.ceil(size / 1024));
    calls.push({ at: Date.now(), op, pk, units, bytes: size, read });
  } catch {
    calls.push({ at: Date.now(), op, pk: "?", units: 1, bytes: 0, read: false });
  }
}

/** The provider: stamps each call's arrival, answers after SERVICE_MS. */
export async function fakeProvider(arrivals: number[]) {
  const server = createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    setTimeout(() => res.end('{"ActionStatus":"OK","ErrorCode":0}'), SERVICE_MS);
  });
  server.keepAliveTimeout = 30_000;
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
