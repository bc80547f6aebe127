/** What the message panel's parts ask of the page, which carries them out against the API. */
export interface MessageActions {
  /** Sends a change; resolves with the new record, rejects with an ApiError. */
  readonly save: (body: Readonly<Record<string, unknown>>, idempotencyKey: string) => Promise<void>;
  readonly restore: (version: number) => Promise<void>;
  readonly purge: (reason: string) => Promise<number>;
  readonly moreVersions: () => Promise<void>;
  readonly reload: () => Promise<void>;
}
