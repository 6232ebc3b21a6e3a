import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** A downstream server as an mcp.json entry; the same entry feeds the gateway and the direct baseline client. */
export type ServerEntry =
  | { command: string; args: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string };

const require = createRequire(import.meta.url);

/** The JS file of a package's bin, run with this very node (no npx, no shell). */
function binOf(pkg: string): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = z
    .object({ bin: z.union([z.string(), z.record(z.string(), z.string())]) })
    .parse(require(manifest));
  const file = typeof bin === "string" ? bin : Object.values(bin)[0];
  if (!file) throw new Error(`${pkg} has no bin`);
  return path.join(path.dirname(manifest), file);
}

/** The three real reference servers, each in its own process over stdio; their state lives under `tmp`. */
export async function realServers(tmp: string): Promise<Record<string, ServerEntry>> {
  const files = path.join(tmp, "files");
  await mkdir(files, { recursive: true });
  return {
    files: { command: process.execPath, args: [binOf("@modelcontextprotocol/server-filesystem"), files] },
    memory: {
      command: process.execPath,
      args: [binOf("@modelcontextprotocol/server-memory")],
      env: { MEMORY_FILE_PATH: path.join(tmp, "memory.jsonl") },
    },
    everything: { command: process.execPath, args: [binOf("@modelcontextprotocol/server-everything")] },
  };
}

export const fixturePath = (root: string) => path.join(root, "test/fixtures/registry-server.ts");

/** node's arguments to run the TypeScript fixture from any working directory. */
const runFixture = (root: string) => [
  "--import",
  pathToFileURL(require.resolve("tsx")).href,
  fixturePath(root),
];

/** One registry server over stdio (e.g. a slow-starting one: `["--servers", "weather", "--delay-ms", "5000"]`). */
export function stdioFixture(root: string, args: string[]): ServerEntry {
  return { command: process.execPath, args: [...runFixture(root), ...args], cwd: root };
}

const readySchema = z.object({
  url: z.string(),
  servers: z.array(z.object({ name: z.string(), tools: z.number() })),
});

export interface HttpFixture {
  url: string;
  servers: Array<{ name: string; tools: number }>;
  /** mcp.json entries, one per served server. */
  entries(): Record<string, ServerEntry>;
  stop(): Promise<void>;
}

/** Starts one fixture process serving many registry servers over streamable HTTP (`--limit`, `--copies`, …). */
export async function startHttpFixture(root: string, args: string[]): Promise<HttpFixture> {
  const child: ChildProcess = spawn(process.execPath, [...runFixture(root), "--http", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2000);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      if (!child.stdout) throw new Error("fixture has no stdout");
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", (code) =>
        reject(new Error(`registry fixture exited with ${code}: ${stderr.trim()}`)),
      );
    });
    const ready = readySchema.parse(JSON.parse(line));
    return {
      ...ready,
      entries: () =>
        Object.fromEntries(
          ready.servers.map((s) => [s.name, { url: `${ready.url}/${encodeURIComponent(s.name)}` }]),
        ),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
