import { execFile } from "node:child_process";
import { cliScript } from "./processes.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built bin to its end; an empty SKILLSMITH_CONFIG counts as unset, so the caller's env cannot leak in. */
export function runCli(args: string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliScript, ...args],
      { cwd, timeout: 30_000, env: { ...process.env, SKILLSMITH_CONFIG: "" } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
