import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import {
  AppError,
  asError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  ListingDisabledError,
  MisconfiguredError,
  NotFoundError,
  OutcomeUnknownError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  StoreUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
} from "../core/errors.ts";

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

/** The one table from domain error categories to HTTP statuses (ARCHITECTURE.md "HTTP contract"). */
const STATUSES: ReadonlyArray<readonly [abstract new (...args: never[]) => AppError, number]> = [
  [BadRequestError, 400],
  [ListingDisabledError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PreconditionFailedError, 412],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UnprocessableError, 422],
  [TooManyRequestsError, 429],
  [ProviderRejectedError, 502],
  [ProviderUnavailableError, 503],
  [StoreUnavailableError, 503],
  [MisconfiguredError, 503],
  [OutcomeUnknownError, 504],
];

export function statusOf(error: AppError): number {
  return STATUSES.find(([type]) => error instanceof type)?.[1] ?? 500;
}

/**
 * The one mapping from errors to HTTP. Typed errors carry their status and a message safe to show;
 * anything else is a bug and becomes a bare 500 with no stack, SDK detail or secret.
 */
export function errorResult(thrown: unknown): { result: HttpResult; unexpected?: Error } {
  if (thrown instanceof AppError) {
    const error = {
      code: thrown.code,
      message: thrown.message,
      ...(thrown.providerCode !== undefined ? { providerCode: thrown.providerCode } : {}),
      ...(thrown.details !== undefined ? { details: withStatusUrl(thrown) } : {}),
    };
    const headers: Record<string, string> =
      thrown.retryAfter !== undefined ? { "retry-after": String(Math.ceil(thrown.retryAfter)) } : {};
    // An unknown outcome says so at the top level too: clients must not treat it as "not applied".
    const body = thrown instanceof OutcomeUnknownError ? { error, outcome: "unknown" } : { error };
    return { result: json(statusOf(thrown), body, headers) };
  }
  return {
    result: json(500, { error: { code: "internal", message: "internal error" } }),
    unexpected: asError(thrown),
  };
}

/** An unknown outcome names the message; HTTP callers get the route where its settled state shows. */
function withStatusUrl(thrown: AppError): unknown {
  const details = thrown.details;
  if (!(thrown instanceof OutcomeUnknownError) || details === null || typeof details !== "object")
    return details;
  const id = (details as { id?: unknown }).id;
  return typeof id === "string" ? { ...details, status: `/v1/messages/${id}` } : details;
}
