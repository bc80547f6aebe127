import { Worker } from "node:worker_threads";

/**
 * Checkpoints the WAL from a worker thread. `node:sqlite` is synchronous: a checkpoint run inline by a
 * commit (SQLite's auto-checkpoint) writes the database file and fsyncs it on the event loop, which
 * showed as 40-80 ms stalls under load. So the writer connection disables auto-checkpoints and this
 * worker, with its own connection, runs PASSIVE checkpoints (they never block the writer) on a timer.
 * With `synchronous=NORMAL` the event loop then never waits for an fsync.
 */
const WORKER_SOURCE = `
const { DatabaseSync } = require("node:sqlite");
const { workerData, parentPort } = require("node:worker_threads");
const db = new DatabaseSync(workerData.path, { timeout: 1000 });
db.exec("PRAGMA journal_size_limit = 67108864");
const checkpoint = () => {
  try { db.exec("PRAGMA wal_checkpoint(PASSIVE)"); } catch (error) { parentPort.postMessage(String(error)); }
};
setInterval(checkpoint, workerData.intervalMs);
`;

export interface Checkpointer {
  stop(): void;
}

export function startCheckpointer(
  path: string,
  intervalMs: number,
  onError: (message: string) => void,
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs } });
  worker.on("message", (message: unknown) => onError(String(message)));
  worker.on("error", (error) => onError(String(error)));
  worker.unref();
  return {
    stop: () => {
      void worker.terminate();
    },
  };
}
