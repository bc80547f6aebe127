import { ConflictError, OutcomeUnknownError, UnprocessableError } from "./errors.ts";
import type { Clock } from "./limiter.ts";
import { canonicalJson, contentHash, type EditIntent } from "./model.ts";
import type { IdempotencyStore } from "./store.ts";

export interface IdempotencyOptions {
  /** How long a caller waits for a concurrent attempt with the same key. */
  readonly waitBudgetMs: number;
  /** How long an Idempotency-Key is remembered. */
  readonly ttlMs: number;
  /** How long a pending key can stay held by an attempt still running (then a crashed attempt frees it). */
  readonly pendingMs: number;
  /** How long a key stays held after an unknown outcome, at the latest (until the edit is settled or abandoned). */
  readonly unknownHoldMs: number;
}

/**
 * `Idempotency-Key`: same key + same request → the first result, without a second run; another request →
 * 422. Results are remembered as domain results; a failed attempt frees the key so the client can retry;
 * an unknown outcome holds it until the edit is settled.
 */
export class Idempotency<Result> {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly clock: Clock,
    private readonly options: IdempotencyOptions,
  ) {}

  async run(
    key: string | undefined,
    request: unknown,
    attempt: (requestHash?: string) => Promise<Result>,
  ): Promise<Result> {
    if (key === undefined) return attempt();
    const requestHash = contentHash({ request: canonicalJson(request) });
    const now = this.clock.now();
    const claimed = await this.store.claimIdempotencyKey(
      { key, requestHash, state: "pending", expiresAtMs: now + this.options.pendingMs },
      now,
    );
    if (!claimed) return this.awaitFirst(key, request, requestHash, attempt, now + this.options.waitBudgetMs);
    try {
      const result = await attempt(requestHash);
      await this.store.completeIdempotencyKey(
        key,
        requestHash,
        result,
        this.clock.now() + this.options.ttlMs,
      );
      return result;
    } catch (error: unknown) {
      if (error instanceof OutcomeUnknownError) {
        // Sent, not answered: the key stays this request's until the outcome is settled (then it is
        // completed or freed by the settlement), at the latest until an unresolved edit is abandoned.
        await this.store.holdIdempotencyKey(key, requestHash, this.clock.now() + this.options.unknownHoldMs);
      } else {
        await this.store.releaseIdempotencyKey(key, requestHash);
      }
      throw error;
    }
  }

  /**
   * An edit whose outcome was unknown kept its key held (another body: 422); settled, the key remembers
   * the result (applied) or is freed for a retry (not applied).
   */
  async settle(intent: EditIntent, result?: Result): Promise<void> {
    const { idempotencyKey: key, idempotencyHash: hash } = intent;
    if (key === undefined || hash === undefined) return;
    if (result !== undefined) {
      await this.store.completeIdempotencyKey(key, hash, result, this.clock.now() + this.options.ttlMs);
    } else {
      await this.store.releaseIdempotencyKey(key, hash);
    }
  }

  private async awaitFirst(
    key: string,
    request: unknown,
    requestHash: string,
    attempt: (requestHash?: string) => Promise<Result>,
    deadline: number,
  ): Promise<Result> {
    for (;;) {
      const record = await this.store.getIdempotencyRecord(key, this.clock.now());
      if (!record) return this.run(key, request, attempt); // expired or released meanwhile
      if (record.requestHash !== requestHash) {
        throw new UnprocessableError("this Idempotency-Key was used for a different request", {
          code: "idempotency_mismatch",
        });
      }
      if (record.state === "done" && record.result !== undefined) return record.result as Result;
      if (this.clock.now() > deadline) {
        throw new ConflictError("a request with this Idempotency-Key is still in progress", {
          code: "idempotency_in_progress",
          retryAfter: 1,
        });
      }
      await this.clock.sleep(100);
    }
  }
}
