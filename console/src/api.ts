import type * as z from "zod/mini";
import {
  ErrorBody,
  Job,
  JobAccepted,
  JobPage,
  MessagePage,
  MessageRecord,
  PurgeResult,
  VersionPage,
} from "./schemas.ts";

/**
 * The console's client of `/v1`: one function per route it uses, answers checked against their schemas,
 * every failure an ApiError whose `explanation` says in words what happened and what to do. How requests
 * are authorized is the Fetcher's business (a bearer token locally, SigV4 in AWS: auth.ts).
 */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** What happened and what to do, for a person (shown as text). */
    readonly explanation: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Query = Readonly<Record<string, string | number | undefined>>;

interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ListQuery {
  readonly provider: string;
  readonly appId: string;
  readonly conversation?: string;
  readonly sender?: string;
  readonly since?: string;
  readonly until?: string;
  readonly nextToken?: string;
}

/** Who makes a write: the version it was shown (If-Match) and its Idempotency-Key. */
export interface WriteOptions {
  readonly ifMatch?: number;
  readonly idempotencyKey: string;
}

export const newIdempotencyKey = (): string => crypto.randomUUID();

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: Fetcher,
  ) {}

  getMessage(id: string) {
    return this.request(MessageRecord, "GET", `/v1/messages/${encodeURIComponent(id)}`);
  }

  /** A message by natural key (the lookup parameters of `GET /v1/messages`). */
  findByKey(provider: string, appId: string, key: Readonly<Record<string, string>>) {
    return this.request(MessageRecord, "GET", "/v1/messages", { query: { provider, appId, ...key } });
  }

  listMessages(query: ListQuery) {
    return this.request(MessagePage, "GET", "/v1/messages", { query: { ...query, limit: 25 } });
  }

  versions(id: string, nextToken?: string) {
    return this.request(VersionPage, "GET", `/v1/messages/${encodeURIComponent(id)}/versions`, {
      query: { limit: 20, nextToken },
    });
  }

  edit(id: string, body: Readonly<Record<string, unknown>>, write: WriteOptions) {
    return this.request(MessageRecord, "PATCH", `/v1/messages/${encodeURIComponent(id)}`, {
      body,
      headers: writeHeaders(write),
    });
  }

  restore(id: string, version: number, write: WriteOptions) {
    return this.request(MessageRecord, "POST", `/v1/messages/${encodeURIComponent(id)}/restore`, {
      body: { version },
      headers: writeHeaders(write),
    });
  }

  purge(id: string, reason: string) {
    return this.request(PurgeResult, "DELETE", `/v1/messages/${encodeURIComponent(id)}/versions`, {
      body: { reason },
    });
  }

  createJob(body: Readonly<Record<string, unknown>>) {
    return this.request(JobAccepted, "POST", "/v1/edits", { body });
  }

  getJob(id: string) {
    return this.request(Job, "GET", `/v1/edits/${encodeURIComponent(id)}`);
  }

  listJobs(nextToken?: string) {
    return this.request(JobPage, "GET", "/v1/edits", { query: { limit: 20, nextToken } });
  }

  cancelJob(id: string) {
    return this.request(Job, "POST", `/v1/edits/${encodeURIComponent(id)}/cancel`);
  }

  resumeJob(id: string) {
    return this.request(JobAccepted, "POST", `/v1/edits/${encodeURIComponent(id)}/resume`);
  }

  private async request<T extends z.ZodMiniType>(
    schema: T,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<z.infer<T>> {
    const url = new URL(`${this.baseUrl}${path}`, globalThis.location?.href ?? "http://localhost/");
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetcher(url.toString(), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ApiError(
        0,
        "network",
        reason,
        `The API could not be reached (${reason}). Check the connection and try again.`,
      );
    }
    const payload = await readJson(response);
    if (!response.ok) throw errorOf(response, payload);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      throw new ApiError(
        response.status,
        "unexpected_answer",
        "unexpected answer",
        `The API answered ${method} ${path} in a shape the console does not know (HTTP ${response.status}).`,
      );
    }
    return parsed.data;
  }
}

function writeHeaders(write: WriteOptions): Record<string, string> {
  return {
    "idempotency-key": write.idempotencyKey,
    ...(write.ifMatch !== undefined ? { "if-match": `"${write.ifMatch}"` } : {}),
  };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorOf(response: Response, payload: unknown): ApiError {
  const parsed = ErrorBody.safeParse(payload);
  const retryAfter = Number(response.headers.get("retry-after") ?? "");
  const error = parsed.success
    ? parsed.data.error
    : { code: `http_${response.status}`, message: response.statusText || `HTTP ${response.status}` };
  const details = "details" in error ? error.details : undefined;
  return new ApiError(
    response.status,
    error.code,
    error.message,
    explain(
      response.status,
      error.code,
      error.message,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    ),
    details,
  );
}

const later = (retryAfter: number | undefined) =>
  retryAfter === undefined ? "in a few seconds" : `in ${retryAfter} s`;

/** An API error in words: what happened, and what to do about it. */
export function explain(status: number, code: string, message: string, retryAfter?: number): string {
  switch (status) {
    case 400:
      // The deployment keeps no index for this search (LISTINGS): the server's message says how to turn it on.
      return code === "listing_disabled"
        ? `This deployment does not keep that listing. ${message} Open a message by its id or its whole natural key instead.`
        : `The request was refused as invalid: ${message}.`;
    case 401:
      return "You are not signed in, or your sign-in has expired: sign in again.";
    case 403:
      return `You are not allowed to do this: ${message}.`;
    case 404:
      return `Not found: ${message}.`;
    case 409:
      return conflict(code, message, retryAfter);
    case 412:
      return `Someone changed this message since you opened it (${message}). Reload it to see the newer version, then make your change again.`;
    case 413:
      return `Too large: ${message}.`;
    case 422:
      return code === "idempotency_mismatch"
        ? `This Idempotency-Key was already used for a different request (${message}). Reload the message and try again.`
        : `The provider would refuse this content: ${message}.`;
    case 429:
      return `Too many edits at once: the provider's rate limit is reached. Nothing was changed; try again ${later(retryAfter)}.`;
    case 502:
      return `The provider refused im-edit's credentials or configuration: ${message}. An administrator has to fix the configuration.`;
    case 503:
      return `The store or the provider is unavailable, and nothing was applied (${message}). Try again ${later(retryAfter)}.`;
    case 504:
      return `The provider did not answer, so whether the edit was applied is not known yet (${message}). The message stays locked to this edit until it is settled, usually within seconds: reload it before editing again.`;
    default:
      return `The API failed (HTTP ${status}): ${message}.`;
  }
}

function conflict(code: string, message: string, retryAfter: number | undefined): string {
  switch (code) {
    case "lease_held":
    case "write_contention":
    case "previous_edit_unknown":
      return `This message is being edited by someone or something else right now (${message}). Try again ${later(retryAfter)}.`;
    case "idempotency_in_progress":
      return `An earlier attempt of this same change is still being settled. Try again ${later(retryAfter)}.`;
    case "ambiguous_key":
      return `Several messages match that key (${message}): add its missing fields, such as from and to.`;
    case "job_finished":
      return `This job has already finished (${message}).`;
    default:
      return `This cannot be done to the message in its current state: ${message}.`;
  }
}
