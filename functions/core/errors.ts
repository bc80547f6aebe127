/**
 * The typed error hierarchy: domain categories with domain codes, no transport in sight. Every failure a
 * caller can act on is one of these; the HTTP adapter (`functions/http/respond.ts`) alone maps them to
 * statuses, in one table. Anything else is a bug and becomes a bare 500 without detail.
 */
export interface AppErrorOptions {
  readonly code?: string;
  readonly details?: unknown;
  readonly providerCode?: number | string;
  /** Seconds the caller should wait before retrying (429, 503). */
  readonly retryAfter?: number;
  readonly cause?: unknown;
}

export abstract class AppError extends Error {
  readonly code: string;
  readonly details: unknown;
  readonly providerCode: number | string | undefined;
  readonly retryAfter: number | undefined;

  constructor(message: string, defaultCode: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? defaultCode;
    this.details = options.details;
    this.providerCode = options.providerCode;
    this.retryAfter = options.retryAfter;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "bad_request", options);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "unauthorized", options);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "forbidden", options);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "not_found", options);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "conflict", options);
  }
}

/** Work stopped before its provider call because its job was cancelled: nothing was sent. */
export class CancelledError extends ConflictError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, { code: "cancelled", ...options });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "payload_too_large", options);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "unsupported_media_type", options);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "precondition_failed", options);
  }
}

/** Content the provider would refuse, or an idempotency key reused with another request. */
export class UnprocessableError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "unprocessable", options);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "rate_limited", options);
  }
}

/** The provider refused our credentials or configuration (UserSig, signature, domain/app mismatch). */
export class ProviderRejectedError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "provider_rejected", options);
  }
}

/** The provider stayed unavailable through the retries inside the wait budget; nothing was applied. */
export class ProviderUnavailableError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "provider_unavailable", options);
  }
}

/** The request may have reached the provider but no answer came back: applied or not is unknown. */
export class OutcomeUnknownError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "outcome_unknown", options);
  }
}

/**
 * The deployment keeps no index for what was asked (LISTINGS): refused before the store is asked. The
 * message names the listing, the setting and how to turn it on (core/listings.ts).
 */
export class ListingDisabledError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "listing_disabled", options);
  }
}

/** The store could not be reached or kept failing; callers decide whether to spool or to 503. */
export class StoreUnavailableError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "store_unavailable", options);
  }
}

/**
 * im-edit's own configuration forbids the work (a secret resolved empty): fail closed, never run
 * unsigned or sign with an empty key. The message never names a secret's value.
 */
export class MisconfiguredError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super(message, "misconfigured", options);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Narrows anything thrown to an Error so catch blocks never touch `unknown` blindly. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
