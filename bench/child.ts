import { spawn } from "node:child_process";

/**
 * Runs a bench client script with tsx under this Node in its own process (so it does not share the
 * server's event loop), bounded by `timeoutMs`: resolves with its stdout when it exits 0 in time.
 * `stdin` is written to it; `onOutput` sees stdout as it grows and may refuse success (`ok()` false).
 */
export function runClientProcess(options: {
  readonly script: string;
  readonly cwd: string;
  readonly label: string;
  readonly timeoutMs: number;
  readonly args?: readonly string[];
  readonly stdin?: string;
  readonly onOutput?: (stdout: string) => void;
  readonly ok?: () => boolean;
}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", options.script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "SILENT", AWS_EC2_METADATA_DISABLED: "true" },
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      options.onOutput?.(stdout);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut && (options.ok?.() ?? true)) return resolve(stdout);
      const why = timedOut ? `killed after ${options.timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new Error(`${options.label} ${why}\n${stderr.trim()}`));
    });
    if (options.stdin !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // an early exit is reported by "close"
      child.stdin.end(options.stdin);
    }
  });
}
