import { execFile } from "node:child_process";
import { readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { parseConfig } from "../src/config.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { createServer } from "../src/server.js";
import type { ServerEntry } from "./fixtures.js";

const clientInfo = { name: "skillsmith-bench", version: "1.0.0" };

/** A plain SDK client connected straight to one downstream server: the baseline's way in. */
export async function connectDirect(entry: ServerEntry): Promise<Client> {
  const client = new Client(clientInfo);
  if ("url" in entry) {
    await client.connect(new StreamableHTTPClientTransport(new URL(entry.url)));
  } else {
    const transport = new StdioClientTransport({
      command: entry.command,
      args: entry.args,
      ...(entry.env && { env: entry.env }),
      ...(entry.cwd && { cwd: entry.cwd }),
      stderr: "ignore",
    });
    await client.connect(transport);
  }
  return client;
}

/** Every tool a server lists, following pagination. */
export async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

/** Lists every server's tools through direct clients, at most `concurrency` connections at once. */
export async function listDirect(entries: Record<string, ServerEntry>, concurrency = 16): Promise<Tool[][]> {
  const queue = Object.values(entries).map((entry, i) => ({ entry, i }));
  const out: Tool[][] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const client = await connectDirect(job.entry);
        try {
          out[job.i] = await listAllTools(client);
        } finally {
          await client.close();
        }
      }
    }),
  );
  return out;
}

/** An mcp.json whose state (registry snapshots, skills, store) lives under `dir`. */
export function gatewayConfig(
  servers: Record<string, ServerEntry>,
  dir: string,
  skillsmith: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    mcpServers: servers,
    skillsmith: {
      registryDir: path.join(dir, "registry"),
      skillsDir: path.join(dir, "skills"),
      store: `file:${path.join(dir, "state")}`,
      ...skillsmith,
    },
  };
}

export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, "mcp.json");
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

export interface InProcessGateway {
  gateway: Gateway;
  client: Client;
  close(): Promise<void>;
}

/** A real gateway built in this process, connected to every server once, with an SDK client in front of it. */
export async function openGateway(config: Record<string, unknown>, dir: string): Promise<InProcessGateway> {
  const gateway = createGateway({ config: parseConfig(config, { baseDir: dir }) });
  await gateway.start();
  await gateway.settled();
  const server = createServer(gateway);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client(clientInfo);
  await client.connect(clientSide);
  return {
    gateway,
    client,
    async close() {
      await client.close();
      await server.close();
      await gateway.close();
    },
  };
}

/** The built bin (`node dist/cli.js serve --config <file>`) spawned over stdio, with an SDK client in front. */
export async function spawnGateway(root: string, configFile: string): Promise<Client> {
  const client = new Client(clientInfo);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(root, "dist/cli.js"), "serve", "--config", configFile, "--log-level", "error"],
    cwd: path.dirname(configFile),
    stderr: "ignore",
  });
  await client.connect(transport);
  return client;
}

async function newestIn(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) {
      newest = Math.max(newest, (await stat(path.join(entry.parentPath, entry.name))).mtimeMs);
    }
  }
  return newest;
}

/**
 * Runs `npm run build` when dist/cli.js is missing or older than a file in src/. tsc still emits when it finds
 * type errors, so a build that fails that way is reported (in `problems`) and the emitted dist is measured.
 */
export async function ensureBuilt(root: string): Promise<{ built: boolean; problems?: string }> {
  const cli = path.join(root, "dist/cli.js");
  const builtAt = () =>
    stat(cli).then(
      (s) => s.mtimeMs,
      () => 0,
    );
  const before = await builtAt();
  if (before > (await newestIn(path.join(root, "src")))) return { built: false };
  try {
    await promisify(execFile)("npm", ["run", "build"], { cwd: root });
    return { built: true };
  } catch (error) {
    const output = (error as { stdout?: string }).stdout?.trim().split("\n").slice(-10).join("\n") ?? "";
    if ((await builtAt()) > before) return { built: true, problems: output };
    throw new Error(`npm run build failed, so the built gateway cannot be measured:\n${output}`);
  }
}
