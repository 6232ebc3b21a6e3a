import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { parseConfig } from "../../src/config.js";
import { createConsole } from "../../src/console/console-routes.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";

export interface ConsoleServer {
  gateway: Gateway;
  /** The console's root, `http://127.0.0.1:<port>/`. */
  url: string;
  /** An MCP client of the same server (/mcp), as an agent would use it. */
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** `skillsmith serve --http` in process: /mcp and the console on one loopback port, with an MCP client connected. */
export async function startConsoleServer(
  raw: unknown,
  dir: string,
  options: { token?: string } = {},
): Promise<ConsoleServer> {
  const config = parseConfig(raw, { file: path.join(dir, "mcp.json"), baseDir: dir });
  const gateway = createGateway({ config, connection: { backoffMs: 50, maxBackoffMs: 500 } });
  await gateway.start();
  await gateway.settled();
  const http = await startHttpServer(
    gateway,
    { host: "127.0.0.1", port: 0, limits: config.http, ...(options.token && { token: options.token }) },
    silentLogger,
    { mcp: true, console: createConsole(gateway, silentLogger) },
  ).catch(async (error: unknown) => {
    await gateway.close();
    throw error;
  });
  const client = new Client({ name: "console-test", version: "0" });
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } }));
  return {
    gateway,
    url: http.consoleUrl,
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await http.close();
      await gateway.close();
    },
  };
}
