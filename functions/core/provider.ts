import type { MessageHead, ProviderName } from "./model.ts";
import type { RecorderEvent } from "./recorder.ts";

/** A provider callback as raw bytes plus its query and headers: verification comes before parsing. */
export interface CallbackRequest {
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly receivedAt: Date;
}

export interface CallbackReply {
  readonly status: number;
  readonly body: unknown;
}

/** A natural-key lookup: the index entry to query and the predicate the partial key must satisfy. */
export interface KeyLookup {
  readonly lookupKey: string;
  readonly matches: (head: MessageHead) => boolean;
}

/**
 * Everything provider-specific about receiving callbacks. A provider is one folder implementing this
 * plus one line in `providers/registry.ts`; the handlers and the core never branch on the provider.
 */
export interface CallbackProvider {
  readonly name: ProviderName;
  readonly appId: string;
  /** Throws UnauthorizedError / ForbiddenError; nothing is parsed before it passes. */
  verify(request: CallbackRequest): void;
  /** Throws BadRequestError. Empty for commands im-edit does not record. */
  interpret(request: CallbackRequest): RecorderEvent[];
  /** The answer the provider expects from a callback receiver that accepted the callback. */
  readonly ack: CallbackReply;
  /**
   * Turns lookup query parameters into an index lookup. Undefined when the parameters name no key
   * (then the request is a list); throws BadRequestError for an incomplete key.
   */
  lookup(params: Readonly<Record<string, string | undefined>>): KeyLookup | undefined;
}
