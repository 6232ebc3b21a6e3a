import { execFile } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
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

/** `skillsmith serve --config <config>` started by an SDK client over stdio, as an MCP client starts it. */
export async function serveOverStdio(config: string, cwd: string, name = "test"): Promise<Client> {
  const client = new Client({ name, version: "0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [cliScript, "serve", "--config", config],
      cwd,
      stderr: "ignore",
    }),
  );
  return client;
}
