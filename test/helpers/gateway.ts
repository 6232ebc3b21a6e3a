import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { parseConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import type { Logger } from "../../src/logger.js";
import { createServer } from "../../src/server.js";
import type { runView } from "../../src/tools/format.js";

const require = createRequire(import.meta.url);

/** The entry script of a real MCP server package installed as a devDependency. */
function serverScript(pkg: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
}

export const realServers = {
  everything: serverScript("@modelcontextprotocol/server-everything"),
  files: serverScript("@modelcontextprotocol/server-filesystem"),
  memory: serverScript("@modelcontextprotocol/server-memory"),
};

export async function tempDir(prefix = "skillsmith-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** mcp.json entries for the three real servers: files on `root`, memory kept in `root`'s sibling file. */
export function realServerEntries(root: string, memoryFile: string) {
  return {
    files: { command: process.execPath, args: [realServers.files, root] },
    memory: { command: process.execPath, args: [realServers.memory], env: { MEMORY_FILE_PATH: memoryFile } },
    everything: { command: process.execPath, args: [realServers.everything] },
  };
}

/** A temp folder for one test file: `root` for the filesystem server, and the three real servers' entries. */
export async function realServersWorkspace() {
  const dir = await tempDir();
  const root = path.join(dir, "root");
  await mkdir(root, { recursive: true });
  return { dir, root, servers: realServerEntries(root, path.join(dir, "memory.jsonl")) };
}

export interface TestGateway {
  gateway: Gateway;
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Wait until every server has connected or failed once (default true). */
  wait?: boolean;
  /** Like `skillsmith serve`: pre-warmed sandbox, skills folder watched. */
  serving?: boolean;
  logger?: Logger;
  /** The client to connect (e.g. one declaring elicitation, sampling or roots); a plain SDK client by default. */
  client?: Client;
}

/** An in-process gateway built from an mcp.json object, with an SDK client connected over InMemoryTransport; retries back off from 50 ms. */
export async function startGateway(
  raw: unknown,
  baseDir: string,
  options: StartOptions = {},
): Promise<TestGateway> {
  const config = parseConfig(raw, { file: path.join(baseDir, "mcp.json"), baseDir });
  const gateway = createGateway({
    config,
    serving: options.serving ?? false,
    ...(options.logger && { logger: options.logger }),
    connection: { backoffMs: 50, maxBackoffMs: 500 },
  });
  await gateway.start();
  if (options.wait ?? true) await gateway.settled();
  const server = createServer(gateway);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = options.client ?? new Client({ name: "test", version: "0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    gateway,
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await server.close();
      await gateway.close();
    },
  };
}

/** A skill run as run_skill's structuredContent shows it. */
export type RunView = ReturnType<typeof runView>;

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function textOf(result: CallToolResult): string {
  return result.content.map((b) => (b.type === "text" ? b.text : "")).join("\n");
}
