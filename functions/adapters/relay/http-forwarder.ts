import type { Pool } from "undici";
import { ForwardFailure } from "../../core/forwarding.ts";
import type { ForwardAnswer, Forwarder } from "../../core/relay.ts";

export interface HttpForwarderOptions {
  /** FORWARD_MAX_RESPONSE_BYTES: an answer body over it is refused (`too_large`). */
  readonly maxResponseBytes: number;
  /** A connection to the app must be up within this (a pool's setting; each attempt's budget bounds it too). */
  readonly connectTimeoutMs?: number;
  /** Sockets per origin: a burst of forwards queues on the pool instead of opening a socket each. */
  readonly connections?: number;
}

/** Connections to the app are reused between attempts for this long (keep-alive). */
const KEEP_ALIVE_MS = 30_000;

/**
 * undici is loaded on the first forward, not when the function is imported (as in providers/http-call.ts):
 * a recorder without a forward URL never needs it. Deployed, it is a lazy package beside the bundle.
 */
let undici: Promise<typeof import("undici")["default"]> | undefined;

/**
 * The forwarder on undici: one keep-alive pool per origin (made on the first forward to it, then reused),
 * every attempt bounded by its budget (connect, headers and body, and an overall abort), redirects never
 * followed (a 3xx is the app's answer), the answer read up to the cap and its stream destroyed past it.
 * A failure is a `ForwardFailure` naming the target by origin and path only: the query carries the
 * signature, and user info in a URL is a credential.
 */
export function createForwarder(options: HttpForwarderOptions): Forwarder & { close(): Promise<void> } {
  const pools = new Map<string, Promise<Pool>>();
  const poolFor = (origin: string): Promise<Pool> => {
    let pool = pools.get(origin);
    if (!pool) {
      undici ??= import("undici").then((module) => module.default);
      pool = undici.then(
        ({ Pool }) =>
          new Pool(origin, {
            connections: options.connections ?? 32,
            connectTimeout: options.connectTimeoutMs ?? 2_000,
            keepAliveTimeout: KEEP_ALIVE_MS,
          }),
      );
      pool.catch(() => {
        undici = undefined;
        pools.delete(origin);
      });
      pools.set(origin, pool);
    }
    return pool;
  };
  return {
    send: async (request, timeoutMs, signal) => {
      const url = new URL(request.url);
      const target = `${url.origin}${url.pathname}`;
      const timeout = AbortSignal.timeout(timeoutMs);
      const abort = signal ? AbortSignal.any([timeout, signal]) : timeout;
      try {
        const pool = await poolFor(url.origin);
        const response = await pool.request({
          method: "POST",
          path: `${url.pathname}${url.search}`,
          headers: request.headers,
          body: request.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: abort,
        });
        return {
          status: response.statusCode,
          body: await readCapped(response.body, response.headers["content-length"], options.maxResponseBytes),
        } satisfies ForwardAnswer;
      } catch (thrown: unknown) {
        if (thrown instanceof ForwardFailure) throw thrown;
        throw failure(thrown, target, timeoutMs, timeout.aborted, signal?.aborted === true);
      }
    },
    close: async () => {
      const open = [...pools.values()];
      pools.clear();
      await Promise.all(open.map(async (pool) => (await pool.catch(() => undefined))?.close()));
    },
  } satisfies Forwarder & { close(): Promise<void> };
}

type ResponseBody = AsyncIterable<Buffer> & {
  destroy(error?: Error): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
};

/** Drops an answer's stream and its connection; the abort it raises is ours, not worth a listener's crash. */
function discard(body: ResponseBody): void {
  body.on("error", () => undefined);
  body.destroy();
}

/**
 * The answer's body, whole, when it is at most `cap` bytes; else `too_large`, the stream destroyed (the
 * connection is dropped rather than drained: an app answering megabytes does not get them read).
 */
async function readCapped(
  body: ResponseBody,
  contentLength: string | string[] | undefined,
  cap: number,
): Promise<Buffer> {
  const tooLarge = () =>
    new ForwardFailure(true, {
      code: "too_large",
      message: `the app's answer is over FORWARD_MAX_RESPONSE_BYTES (${cap} bytes)`,
    });
  const declared = typeof contentLength === "string" ? Number(contentLength) : Number.NaN;
  if (declared > cap) {
    discard(body);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > cap) {
      discard(body);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Errors that mean the app could not be reached or dropped the connection. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

const TIMEOUTS = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** An undici or abort error as a retryable failure, in our words (undici's may quote the request). */
function failure(
  thrown: unknown,
  target: string,
  timeoutMs: number,
  timedOut: boolean,
  cancelled: boolean,
): ForwardFailure {
  const code = errorCode(thrown);
  if (timedOut || TIMEOUTS.has(code)) {
    return new ForwardFailure(true, {
      code: "timeout",
      message: `${target} did not answer within ${timeoutMs} ms`,
    });
  }
  if (cancelled)
    return new ForwardFailure(true, { code: "cancelled", message: `forward to ${target} cancelled` });
  if (UNREACHABLE.has(code)) {
    return new ForwardFailure(true, {
      code: "unreachable",
      message: `${target} could not be reached (${code})`,
    });
  }
  return new ForwardFailure(true, { code: "unreachable", message: `forward to ${target} failed (${code})` });
}

function errorCode(thrown: unknown): string {
  if (typeof thrown !== "object" || thrown === null) return typeof thrown;
  const code = (thrown as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const name = (thrown as { name?: unknown }).name;
  return typeof name === "string" ? name : "unknown";
}
