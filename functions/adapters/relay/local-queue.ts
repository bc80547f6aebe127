import type { DeadLetterReason, DeadLetters } from "../../core/dead-letters.ts";
import { ForwardFailure, type ForwardFailureReason } from "../../core/forwarding.ts";
import type { Forward, ForwardQueue } from "../../core/relay.ts";
import {
  DirectoryEntries,
  type ForwardEntries,
  MemoryEntries,
  type QueuedForward,
} from "./forward-entries.ts";

/** What the queue tells its owner (logs, metrics): never the forward's body or headers. */
export interface ForwardQueueObserver {
  /** Delivered on attempt `attempts` (1: the first). */
  readonly onDelivered?: (forward: Forward, attempts: number) => void;
  /** Attempt `attempts` failed with `reason`; the next one comes after `delayMs`. */
  readonly onRetry?: (
    forward: Forward,
    attempts: number,
    reason: ForwardFailureReason,
    delayMs: number,
  ) => void;
  /** Given up (refused, misconfigured, or out of attempts): put in the dead letters with `reason`. */
  readonly onDeadLettered?: (forward: Forward | undefined, reason: DeadLetterReason) => void;
}

export interface LocalForwardQueueOptions extends ForwardQueueObserver {
  /** `DATA_DIR/forwards`: one file per forward, delivered by this process and the next. None: in memory. */
  readonly directory?: string;
  /** One attempt: resolves when the app took it, throws `ForwardFailure` (or anything: retried) otherwise. */
  readonly deliver: (forward: Forward) => Promise<void>;
  /** FORWARD_QUEUE_MAX_RECEIVES: attempts before a retryable failure is dead-lettered. */
  readonly maxAttempts: number;
  /**
   * Where given-up forwards go (`DATA_DIR/dead-letters`, source `forward-queue`). None (in memory, no
   * DATA_DIR): a given-up forward is only reported (`onDeadLettered`).
   */
  readonly deadLetters?: DeadLetters;
  /** The wait after the first failed attempt, doubled after each next one (default 500 ms). */
  readonly initialBackoffMs?: number;
  /** The longest wait between attempts (default 30 s). */
  readonly maxBackoffMs?: number;
  /** How often the directory is looked at for forwards put there by someone else (`npm run redrive`). */
  readonly pollMs?: number;
  /** Attempts under way at once (default 8): a burst of callbacks does not open a socket each. */
  readonly concurrency?: number;
}

/** The name a dead letter gives its queue. */
export const FORWARD_QUEUE_SOURCE = "forward-queue";

/**
 * The forward queue locally: each forward is durable before `enqueue` resolves (a file under
 * `DATA_DIR/forwards`, or a map in memory without DATA_DIR), then delivered in the background: attempt 1
 * at once, each retryable failure waits 0.5 s doubling up to 30 s, and after `maxAttempts` attempts (or
 * at once for a refusal: a 3xx, another 4xx, a misconfigured secret) it becomes a dead letter with the
 * last reason. An entry's attempts are written back after each failure, so a restart neither forgets
 * them nor drops the entry: files left by a previous run are delivered on start. At least once: the app
 * may see a forward twice (a crash between its answer and the file's removal); `X-Im-Edit-Forward-Id`
 * lets it tell.
 */
export class LocalForwardQueue implements ForwardQueue {
  private readonly entries: ForwardEntries;
  /** Entries this process knows about (scheduled, waiting or in flight), by name. */
  private readonly known = new Set<string>();
  private readonly ready: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly poller: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: LocalForwardQueueOptions) {
    this.entries = options.directory ? new DirectoryEntries(options.directory) : new MemoryEntries();
    if (options.directory) {
      void this.scan();
      this.poller = setInterval(() => void this.scan(), options.pollMs ?? 1_000);
      this.poller.unref();
    }
  }

  async enqueue(forward: Forward): Promise<void> {
    if (this.closed) throw new Error("the forward queue is closed");
    this.pickUp(await this.entries.add({ forward, attempts: 0 }));
  }

  /** Picks up the directory's entries now, without waiting for the next poll (redrive, tests). */
  async rescan(): Promise<void> {
    await this.scanning;
    await this.scan();
  }

  /** Stops: no new attempt starts, those under way finish. What is left stays for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
    await this.scanning;
    await Promise.all(this.inFlight);
  }

  /** Picks up entries this process does not know yet: left from a previous run, or put by redrive. */
  private scan(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.scanning ??= this.entries
      .names()
      .then((names) => {
        for (const name of names) this.pickUp(name);
      })
      // An unreadable directory is tried again on the next poll.
      .catch(() => undefined)
      .finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  /** A new entry's first attempt, once: the poll may see the file of an entry `enqueue` just wrote. */
  private pickUp(name: string): void {
    if (!this.known.has(name)) this.schedule(name, 0);
  }

  private schedule(name: string, delayMs: number): void {
    if (this.closed) return;
    this.known.add(name);
    if (delayMs <= 0) {
      this.ready.push(name);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push(name);
      this.pump();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Starts ready attempts up to the concurrency. */
  private pump(): void {
    while (!this.closed && this.ready.length > 0 && this.inFlight.size < (this.options.concurrency ?? 8)) {
      const name = this.ready.shift() as string;
      const attempt = this.attempt(name).finally(() => {
        this.inFlight.delete(attempt);
        this.pump();
      });
      this.inFlight.add(attempt);
    }
  }

  private async attempt(name: string): Promise<void> {
    let entry: QueuedForward | undefined;
    try {
      const read = await this.entries.read(name);
      if (read === "gone") {
        this.known.delete(name);
        return;
      }
      if (read === "invalid") {
        const reason = this.reason({ code: "not_a_forward", message: "the queue entry is not a forward" }, 0);
        await this.giveUp(name, await this.entries.raw(name), undefined, reason);
        return;
      }
      entry = read;
      const attempts = entry.attempts + 1;
      let failure: ForwardFailure;
      try {
        await this.options.deliver(entry.forward);
        await this.entries.remove(name);
        this.known.delete(name);
        this.options.onDelivered?.(entry.forward, attempts);
        return;
      } catch (thrown: unknown) {
        failure = asFailure(thrown);
      }
      if (!failure.retryable || attempts >= this.options.maxAttempts) {
        const reason = this.reason(failure.reason, attempts);
        await this.giveUp(name, JSON.stringify(entry.forward), entry.forward, reason);
        return;
      }
      await this.entries.update(name, { forward: entry.forward, attempts });
      const delayMs = this.backoff(attempts);
      this.options.onRetry?.(entry.forward, attempts, failure.reason, delayMs);
      this.schedule(name, delayMs);
    } catch {
      // The entry could not be read, written or dead-lettered (a full disk): it stays, tried again later.
      this.schedule(name, this.options.maxBackoffMs ?? 30_000);
    }
  }

  /** Dead-letters an entry (its forward as the letter's body, replayable) and removes it. */
  private async giveUp(
    name: string,
    body: string,
    forward: Forward | undefined,
    reason: DeadLetterReason,
  ): Promise<void> {
    await this.options.deadLetters?.put(body, reason);
    await this.entries.remove(name);
    this.known.delete(name);
    this.options.onDeadLettered?.(forward, reason);
  }

  private reason(failure: ForwardFailureReason, attempts: number): DeadLetterReason {
    return {
      code: failure.code,
      message: failure.message,
      ...(failure.status !== undefined ? { status: failure.status } : {}),
      receiveCount: attempts,
      source: FORWARD_QUEUE_SOURCE,
    };
  }

  /** The wait after `attempts` failed attempts: initial × 2^(attempts-1), capped. */
  private backoff(attempts: number): number {
    const initial = this.options.initialBackoffMs ?? 500;
    return Math.min(this.options.maxBackoffMs ?? 30_000, initial * 2 ** (attempts - 1));
  }
}

/** A failure as the queue reads it: our own, or anything else (a bug) named and retried. */
function asFailure(thrown: unknown): ForwardFailure {
  if (thrown instanceof ForwardFailure) return thrown;
  const name = thrown instanceof Error ? thrown.name : typeof thrown;
  return new ForwardFailure(true, { code: "unexpected", message: `the forward failed: ${name}` });
}
