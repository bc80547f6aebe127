import { asError } from "./errors.ts";
import type { Recorder } from "./recorder.ts";
import type { Applied, ApplyOutcome, RecorderEvent } from "./recorder-events.ts";

/** Verified callbacks that could not be stored in time, kept until the store is back. */
export interface SpooledCallback {
  readonly provider: string;
  readonly receivedAt: string;
  readonly events: readonly RecorderEvent[];
  /** Why it was spooled (no secrets, no content). */
  readonly reason: string;
}

/** The durable fallback port: a local spool directory, or SQS in AWS. `enqueue` must not lose data. */
export interface FallbackQueue {
  enqueue(entry: SpooledCallback): Promise<void>;
}

/** `stored`: per event, what applying it did; `applied`: the same, with what it wrote (to publish). */
export type DurableOutcome =
  | { readonly stored: readonly ApplyOutcome[]; readonly applied: readonly Applied[] }
  | { readonly spooled: string };

/**
 * Applies a callback's events within a time budget; when the store fails or is too slow, the events go
 * to the fallback queue instead, so the callback can still be acknowledged. Replaying spooled events is
 * safe: every write is conditional, so an apply that finished late turns the replay into a no-op.
 */
export class DurableRecorder {
  constructor(
    private readonly recorder: Recorder,
    private readonly fallback: FallbackQueue,
    private readonly budgetMs: number,
    private readonly onSpool: (reason: string, error: Error) => void = () => {},
  ) {}

  /**
   * `budgetMs`: this call's share when less than the store's budget (a before-send whose hooks took part
   * of the provider's time).
   */
  async record(
    provider: string,
    receivedAt: Date,
    events: readonly RecorderEvent[],
    budgetMs?: number,
  ): Promise<DurableOutcome> {
    const budget = Math.min(this.budgetMs, budgetMs ?? this.budgetMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`store did not answer within ${budget} ms`)), budget);
    });
    const applying = this.applyAll(events);
    try {
      const applied = await Promise.race([applying, deadline]);
      return { stored: applied.map((a) => a.outcome), applied };
    } catch (thrown: unknown) {
      const error = asError(thrown);
      applying.catch(() => {}); // it may still settle; the spooled copy is what counts now
      const reason = `${error.name}: ${error.message}`;
      this.onSpool(reason, error);
      await this.fallback.enqueue({ provider, receivedAt: receivedAt.toISOString(), events, reason });
      return { spooled: reason };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Replays one spooled entry; throws while the store is still failing, so the entry stays queued. */
  async replay(entry: SpooledCallback): Promise<readonly ApplyOutcome[]> {
    return (await this.replayApplied(entry)).map((a) => a.outcome);
  }

  /** `replay`, telling what each event wrote (CallbackPipeline.replay publishes it). */
  async replayApplied(entry: SpooledCallback): Promise<readonly Applied[]> {
    return this.applyAll(entry.events);
  }

  private async applyAll(events: readonly RecorderEvent[]): Promise<Applied[]> {
    const applied: Applied[] = [];
    for (const event of events) applied.push(await this.recorder.record(event));
    return applied;
  }
}
