import { asError } from "../../core/errors.ts";
import type { WorkConsumer, WorkQueue, WorkTask } from "../../core/work.ts";

/**
 * The work queue inside one process (`npm start`, tests, a Lambda without an edit queue): each task runs
 * after its delay (at least on the next turn of the event loop, never inside the caller's request) on
 * the consumer registered for its action. Not durable: a restart loses what was queued, which is why
 * every consumer also has a way to find its work again (jobs resume from their checkpoint, unknown
 * outcomes are settled by the next edit of the message).
 */
export class InProcessWorkQueue implements WorkQueue {
  private readonly consumers = new Map<string, WorkConsumer>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly onError: (task: WorkTask, error: Error) => void = () => {}) {}

  /** The consumer of one action (the last registration wins). */
  register(action: string, consumer: WorkConsumer): void {
    this.consumers.set(action, consumer);
  }

  async enqueue(task: WorkTask, delayMs = 0): Promise<void> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const consumer = this.consumers.get(task.action);
      if (!consumer) {
        this.onError(task, new Error(`no consumer for queued action ${JSON.stringify(task.action)}`));
        return;
      }
      const run = consumer(task)
        .catch((thrown: unknown) => this.onError(task, asError(thrown)))
        .finally(() => this.running.delete(run));
      this.running.add(run);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Waits for what is running now (tests, shutdown); tasks still waiting for their delay are dropped. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
