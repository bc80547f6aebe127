import { execFile } from "node:child_process";

/** How a `local/` command line ended: its exit code and what it printed. */
export interface ScriptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a `local/` script as its npm script does (`npm run redrive -- <args>` runs local/redrive.ts under
 * tsx), with `env` over this process's environment, for 20 s at most.
 */
export function runLocalScript(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
