import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Counter } from "./counter.ts";
import { asErrorFault, type BaseErrorFault, type Fault, FaultQueue } from "./faults.ts";
import type { Sender } from "./sender.ts";

/** Request bodies are always read to the end, but only this much is kept: past it the provider refuses by size. */
export const REQUEST_LIMIT_BYTES = 1024 * 1024;

/** A request body: the bytes (up to REQUEST_LIMIT_BYTES) and the size that arrived. */
export interface RequestBody {
  readonly bytes: Buffer;
  readonly size: number;
}

/** When a handled request's notifications go out relative to its answer. */
export type Timing = "before-answer" | "after-answer" | "none";

/** A handled request, applied or refused: its JSON answer and the notifications the change triggers. */
export interface Outcome<N> {
  readonly envelope: object;
  readonly notifications: readonly N[];
  readonly timing: Timing;
}

/** A routed request: the API name (counted in `calls`, matched by faults) and the provider's handling. */
export interface Routed<N> {
  readonly api: string;
  /** Everything the provider checks, then the change; runs unless a fault stopped the request. */
  handle(): Outcome<N>;
}

/** How a provider answers, given to the server at construction; `E` is its "error" fault. */
export interface Provider<E extends BaseErrorFault> {
  /** Names the simulator in the log line of an unexpected error ("netease" → "netease simulator error: …"). */
  readonly name: string;
  /** Content-Type of the JSON answers. */
  readonly contentType: string;
  /** The code answered (with `fail`) when handling throws anything but a refusal: a simulator bug. */
  readonly internalCode: number;
  /** The provider's JSON envelope of a refusal. */
  fail(code: number, text: string): object;
  /** The text of an injected "error" fault ("injected fault" when undefined). */
  errorText(fault: E): string | undefined;
  /** Validates an injected "error" fault, if the provider has rules for it. */
  checkErrorFault?(fault: E): void;
}

/** The request counts every simulator reports in its `stats`, by API name. */
export interface RequestStats {
  /** Every request that arrived. */
  readonly calls: Readonly<Record<string, number>>;
  /** Requests refused by the provider's rate limit. */
  readonly rateLimited: Readonly<Record<string, number>>;
  /** Requests handled successfully (for writes: the change took effect), answered or not. */
  readonly applied: Readonly<Record<string, number>>;
  /** Requests that consumed an injected fault. */
  readonly faulted: Readonly<Record<string, number>>;
}

/** Where a simulator listens: loopback and a free port unless set. */
export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
}

/** A server listening on loopback (or `host`), before it serves. */
export interface Listening {
  readonly server: Server;
  readonly url: string;
}

export async function listen({ host = "127.0.0.1", port = 0 }: ListenOptions): Promise<Listening> {
  const server = createServer();
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}` };
}

/**
 * What both simulators share: a loopback HTTP server that reads each request whole, counts it, applies
 * the injected fault it takes, lets the provider handle it (`route`), sends the notifications (`sender`),
 * answers (or resets); and closes down. `E` is the provider's "error" fault, `N` its notifications.
 */
export abstract class SimulatorServer<E extends BaseErrorFault, N> {
  readonly url: string;
  /** The counters behind RequestStats. */
  protected readonly requests = {
    calls: new Counter(),
    rateLimited: new Counter(),
    applied: new Counter(),
    faulted: new Counter(),
  };
  /** Delivers the notifications; `idle` and `close` wait for it. */
  protected abstract readonly sender: Sender<N>;
  readonly #server: Server;
  readonly #provider: Provider<E>;
  readonly #faults: FaultQueue<E>;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  protected constructor({ server, url }: Listening, provider: Provider<E>) {
    this.url = url;
    this.#server = server;
    this.#provider = provider;
    this.#faults = new FaultQueue<E>((fault) => provider.checkErrorFault?.(fault));
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.#serve(req, res).catch((error: unknown) => {
        // Providers refuse by answering; anything thrown is a simulator bug, answered as an internal error.
        const reason = error instanceof Error ? error.message : String(error);
        process.stderr.write(`${provider.name} simulator error: ${reason}\n`);
        if (!res.headersSent && !res.destroyed) {
          void this.#answer(res, provider.fail(provider.internalCode, "internal error"));
        }
      });
    });
  }

  /** The request's API name (counted, matched by faults) and its handling by the provider. */
  protected abstract route(req: IncomingMessage, url: URL, body: RequestBody): Routed<N>;

  /** Queues a fault; faults are consumed in order, `times` (default 1) each, by requests they match. */
  inject(fault: Fault<E>): void {
    this.#faults.add(fault);
  }

  /** Injected faults not consumed yet. */
  get pendingFaults(): number {
    return this.#faults.size;
  }

  /** Resolves once every notification (copy, callback) sent so far has been answered or has failed. */
  idle(): Promise<void> {
    return this.sender.idle();
  }

  /** Stops listening, drops open connections, lets started notifications finish (≤ 2 s each). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
      await this.sender.close();
    })();
    return this.#closed;
  }

  protected requestStats(): RequestStats {
    const { calls, rateLimited, applied, faulted } = this.requests;
    return {
      calls: calls.snapshot(),
      rateLimited: rateLimited.snapshot(),
      applied: applied.snapshot(),
      faulted: faulted.snapshot(),
    };
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read the whole body first, whatever happens next, so keep-alive connections stay usable.
    let body: RequestBody;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-body: nobody to answer
    }
    const url = new URL(req.url ?? "/", "http://simulator");
    const routed = this.route(req, url, body);
    this.requests.calls.bump(routed.api);

    const fault = this.#faults.take(routed.api);
    if (fault !== undefined) this.requests.faulted.bump(routed.api);
    switch (fault?.kind) {
      case "error": {
        const text = this.#provider.errorText(fault) ?? "injected fault";
        return this.#answer(res, this.#provider.fail(fault.code, text));
      }
      case "http-status":
        return gatewayPage(res, fault.status);
      case "reset-before-apply":
        return reset(res);
      case "delay":
        try {
          await sleep(fault.ms, undefined, { signal: this.#closing.signal });
        } catch {
          return reset(res);
        }
        break;
    }

    const outcome = routed.handle();
    const silent =
      fault?.kind === "reset-after-apply-silently" ||
      (fault?.kind === "error-after-apply" && fault.silently === true);
    const timing = silent ? "none" : outcome.timing;
    const notify = async () => {
      for (const notification of outcome.notifications) await this.sender.send(notification);
    };
    if (timing === "before-answer") await notify();
    if (fault?.kind === "reset-after-apply" || fault?.kind === "reset-after-apply-silently") reset(res);
    else if (fault?.kind === "error-after-apply") {
      const error = asErrorFault(fault);
      const text = this.#provider.errorText(error) ?? "injected fault";
      await this.#answer(res, this.#provider.fail(error.code, text));
    } else await this.#answer(res, outcome.envelope);
    if (timing === "after-answer") void notify();
  }

  /** Writes the JSON answer, HTTP 200; resolves when it was handed to the socket (or the socket went away). */
  #answer(res: ServerResponse, envelope: object): Promise<void> {
    if (res.destroyed || res.writableEnded) return Promise.resolve();
    const text = JSON.stringify(envelope);
    return new Promise((resolve) => {
      res.once("close", resolve);
      res.writeHead(200, {
        "content-type": this.#provider.contentType,
        "content-length": Buffer.byteLength(text),
      });
      res.end(text, resolve);
    });
  }
}

async function readBody(req: IncomingMessage): Promise<RequestBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Past the cap the rest is still read (and dropped): the provider refuses it by size either way.
    if (size <= REQUEST_LIMIT_BYTES) chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), size };
}

/** What a gateway in front of the provider answers on trouble: an HTML page, not the JSON envelope. */
function gatewayPage(res: ServerResponse, status: number): void {
  const text = `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center></body></html>`;
  res.writeHead(status, { "content-type": "text/html", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A TCP reset, as when a connection drops mid-request; the client sees ECONNRESET / "other side closed". */
function reset(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && !socket.destroyed) socket.resetAndDestroy();
  else res.destroy();
}
