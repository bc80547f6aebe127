import { closeSync, openSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The benchmarks run the handlers at the DEFAULT log level, as `npm start` does: every log line is
 * formatted and written. `npm start` writes them to its stdout; here this process's stdout carries the
 * report, so the lines go to a file instead, synchronously, the way Node writes a stdout that is a file
 * or a terminal (`npm start > file`). The report is written through `report()`, to the real stdout.
 *
 * The Powertools logger writes through a Console bound to `process.stdout`, which calls
 * `process.stdout.write` at each line, so replacing that method catches every line.
 */
export interface LogSink {
  /** Where the lines go (deleted when the sink is closed). */
  readonly path: string;
  /** Bytes and lines written since the sink opened. */
  readonly bytes: number;
  readonly lines: number;
  /** Writes to the real stdout (the report). */
  report(text: string): void;
  close(): void;
}

let current: LogSink | undefined;

/** What the sink has seen so far (zeros when there is none: a benchmark run on its own). */
export function logCounters(): { bytes: number; lines: number } {
  return { bytes: current?.bytes ?? 0, lines: current?.lines ?? 0 };
}

export function openLogSink(): LogSink {
  const path = join(tmpdir(), `im-edit-bench-${process.pid}.log`);
  const fd = openSync(path, "w", 0o600);
  const stdout = process.stdout;
  const realWrite = stdout.write.bind(stdout);
  let bytes = 0;
  let lines = 0;
  const sinkWrite = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const buffer =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
    writeSync(fd, buffer);
    bytes += buffer.byteLength;
    for (const byte of buffer) if (byte === 10) lines++;
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") process.nextTick(done as () => void);
    return true;
  };
  stdout.write = sinkWrite as typeof stdout.write;
  const sink: LogSink = {
    path,
    get bytes() {
      return bytes;
    },
    get lines() {
      return lines;
    },
    report: (text) => {
      realWrite(text);
    },
    close: () => {
      stdout.write = realWrite as typeof stdout.write;
      closeSync(fd);
      unlinkSync(path);
      if (current === sink) current = undefined;
    },
  };
  current = sink;
  return sink;
}
