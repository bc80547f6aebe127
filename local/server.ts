import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import type { HttpResult } from "../functions/http/respond.ts";
import { json } from "../functions/http/respond.ts";
import { type FunctionName, matchRoute, routeKey } from "../functions/http/routes.ts";
import { consoleResponse, isConsolePath } from "./console.ts";

export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

export interface LocalServerOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for `/v1` routes (what IAM does behind API Gateway). */
  readonly apiToken: string;
  readonly handlers: Readonly<Record<FunctionName, LambdaHandler>>;
  /** Request bodies above this are refused with 413 before they are read whole. */
  readonly maxBodyBytes: number;
  /**
   * Local-only `POST` routes beside the API's (e.g. `/_local/events`), by exact path: bearer-protected like
   * `/v1`, given the raw body. Nothing in AWS answers them.
   */
  readonly localRoutes?: Readonly<Record<string, (body: Buffer) => Promise<HttpResult>>>;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Plays API Gateway (HTTP API, payload v2) in front of the real handlers: same routes, same event
 * shape, bearer-token auth in place of IAM. Binds loopback unless told otherwise.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<RunningServer> {
  const expectedToken = digest(options.apiToken);
  const server = createServer((req, res) => {
    serve(req, res, options, expectedToken).catch((error: unknown) => {
      // Handlers never throw (middy maps errors); this is the server's own failure.
      const reason = error instanceof Error ? error.message : String(error);
      process.stderr.write(`local server error: ${reason}\n`);
      if (!res.headersSent) send(res, json(500, { error: { code: "internal", message: "internal error" } }));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalServerOptions,
  expectedToken: Buffer,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://local");
  const method = req.method ?? "GET";
  // The operator console's static files (in AWS: S3 behind CloudFront), open like any static site.
  if (isConsolePath(url.pathname)) return drainThen(req, res, await consoleResponse(method, url.pathname));
  // The API reference rendered from /openapi.json: local only, open, loaded on first use.
  if (url.pathname === "/docs" || url.pathname.startsWith("/docs/")) {
    return drainThen(req, res, await docsResult(method, url.pathname));
  }
  const local = Object.hasOwn(options.localRoutes ?? {}, url.pathname)
    ? options.localRoutes?.[url.pathname]
    : undefined;
  if (local) return serveLocal(req, res, options, expectedToken, method, local);
  const match = matchRoute(method, url.pathname);
  if (!match)
    return drainThen(req, res, json(404, { error: { code: "not_found", message: "no such route" } }));
  if ("allowed" in match) {
    return drainThen(
      req,
      res,
      json(
        405,
        { error: { code: "method_not_allowed", message: `use ${match.allowed.join(", ")}` } },
        { allow: match.allowed.join(", ") },
      ),
    );
  }
  const { route, pathParameters } = match;
  if (route.auth === "api" && !authorized(req.headers.authorization, expectedToken)) {
    return drainThen(
      req,
      res,
      json(
        401,
        { error: { code: "unauthorized", message: "missing or invalid API token" } },
        { "www-authenticate": "Bearer" },
      ),
    );
  }
  const body = await readBody(req, options.maxBodyBytes);
  if (body === "too-large") {
    res.setHeader("connection", "close");
    return send(
      res,
      json(413, {
        error: { code: "payload_too_large", message: `body is larger than ${options.maxBodyBytes} bytes` },
      }),
    );
  }
  const event = apiGatewayEvent(
    {
      method,
      url,
      headers: req.headers,
      body,
      sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
      httpVersion: req.httpVersion,
    },
    routeKey(route),
    pathParameters,
  );
  const handler = options.handlers[route.function];
  send(res, await handler(event, lambdaContext(route.function)));
}

async function serveLocal(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalServerOptions,
  expectedToken: Buffer,
  method: string,
  route: (body: Buffer) => Promise<HttpResult>,
): Promise<void> {
  if (method !== "POST") {
    const error = { code: "method_not_allowed", message: "use POST" };
    return drainThen(req, res, json(405, { error }, { allow: "POST" }));
  }
  if (!authorized(req.headers.authorization, expectedToken)) {
    const error = { code: "unauthorized", message: "missing or invalid API token" };
    return drainThen(req, res, json(401, { error }, { "www-authenticate": "Bearer" }));
  }
  const body = await readBody(req, options.maxBodyBytes);
  if (body === "too-large") {
    res.setHeader("connection", "close");
    const error = { code: "payload_too_large", message: `body is larger than ${options.maxBodyBytes} bytes` };
    return send(res, json(413, { error }));
  }
  send(res, await route(body));
}

async function docsResult(method: string, pathname: string): Promise<HttpResult> {
  if (method !== "GET" && method !== "HEAD") {
    return json(405, { error: { code: "method_not_allowed", message: "use GET" } }, { allow: "GET, HEAD" });
  }
  const { docsResponse } = await import("./docs.ts");
  const { status, headers, body } = docsResponse(pathname);
  return { statusCode: status, headers: { ...headers }, body };
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected);
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > maxBytes) {
    req.resume();
    return "too-large";
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      return "too-large";
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Answers without the body, but only after it was consumed, so keep-alive connections stay usable. */
function drainThen(req: IncomingMessage, res: ServerResponse, result: HttpResult): void {
  req.resume();
  req.once("end", () => send(res, result));
}

function send(res: ServerResponse, result: HttpResult): void {
  const body =
    result.body === undefined
      ? ""
      : result.isBase64Encoded
        ? Buffer.from(result.body, "base64")
        : result.body;
  res.writeHead(result.statusCode, {
    ...(result.headers as Record<string, string>),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

const TEXTUAL = /json|text|xml|x-www-form-urlencoded/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What the local server knows of a request before it becomes an event (exported for in-process tests). */
export interface LocalRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly sourceIp?: string;
  readonly httpVersion?: string;
}

/**
 * The API Gateway HTTP API (payload 2.0) event for a request. Repeated query parameters are joined with
 * commas, as API Gateway does. Names are collected in a Map and become own properties, so a parameter
 * called `constructor`, `toString` or `__proto__` is a parameter like any other, never an inherited member.
 */
export function apiGatewayEvent(
  request: LocalRequest,
  key: string,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const { url, body } = request;
  const headerValues = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headerValues.set(name, Array.isArray(value) ? value.join(",") : value);
  }
  const headers = Object.fromEntries(headerValues);
  const parameters = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    const earlier = parameters.get(name);
    parameters.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  const query = Object.fromEntries(parameters);
  let text: string | undefined;
  if (TEXTUAL.test(headerValues.get("content-type") ?? "")) {
    try {
      text = utf8.decode(body);
    } catch {
      text = undefined;
    }
  }
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search !== "" ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(body.length > 0
      ? text !== undefined
        ? { body: text, isBase64Encoded: false }
        : { body: body.toString("base64"), isBase64Encoded: true }
      : { isBase64Encoded: false }),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: url.host,
      domainPrefix: "local",
      http: {
        method: request.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion ?? "1.1"}`,
        sourceIp: request.sourceIp ?? "127.0.0.1",
        userAgent: headerValues.get("user-agent") ?? "",
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
