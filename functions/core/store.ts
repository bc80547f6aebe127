import type { MessageHead, ProviderName, Version } from "./model.ts";

/**
 * The storage port. Every method is a single-item operation (or a query); the conditional writes
 * are the concurrency control, so the adapter must report condition failures as `false`, not throw.
 * Infrastructure failures throw (and the caller spools or answers 503).
 */
export interface MessageStore {
  getHead(id: string): Promise<MessageHead | undefined>;
  /**
   * Writes the head if it is still at `expectedRev` (or absent, when `expectedRev` is undefined).
   * Returns false when someone else wrote first.
   */
  putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean>;
  /** Writes a version item unless that version number exists. Returns false when it exists. */
  putVersion(id: string, version: Version): Promise<boolean>;
  /** The newest version item, used to repair a head that lags behind its versions. */
  latestVersion(id: string): Promise<Version | undefined>;
  listVersions(id: string, page: PageRequest): Promise<Page<Version>>;
  /** All heads whose natural-key index entry equals `primary` (tiny candidate sets). */
  findByKey(provider: ProviderName, appId: string, primary: string): Promise<MessageHead[]>;
  list(query: ListQuery): Promise<Page<MessageHead>>;
}

export interface PageRequest {
  readonly limit: number;
  readonly nextToken?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

export interface ListQuery extends PageRequest {
  readonly provider: ProviderName;
  readonly appId: string;
  readonly conversation?: string;
  readonly sender?: string;
  /** Inclusive ISO timestamp bounds on `createdAt`. */
  readonly since?: string;
  readonly until?: string;
}

/** Thrown by adapters when a `nextToken` is not one they issued. */
export class InvalidPageTokenError extends Error {
  constructor() {
    super("nextToken is not valid for this query");
    this.name = "InvalidPageTokenError";
  }
}
