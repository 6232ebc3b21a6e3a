import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { parseConfig } from "../../src/config.js";
import { createGateway } from "../../src/gateway.js";
import type { Logger } from "../../src/logger.js";
import { createServer } from "../../src/server.js";
import type { TestGateway } from "./gateway.js";

export interface LoggedGateway extends TestGateway {
  /** Every warn and error line the gateway logged, in order. */
  logs: string[];
}

/** Like startGateway, with the gateway's warnings and errors kept for the test to read; retries back off from 50 ms. */
export async function startLoggedGateway(raw: unknown, baseDir: string): Promise<LoggedGateway> {
  const logs: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (m) => logs.push(m),
    error: (m) => logs.push(m),
  };
  const config = parseConfig(raw, { file: path.join(baseDir, "mcp.json"), baseDir });
  const gateway = createGateway({ config, logger, connection: { backoffMs: 50, maxBackoffMs: 500 } });
  await gateway.start();
  await gateway.settled();
  const server = createServer(gateway);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "test", version: "0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    gateway,
    client,
    logs,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await server.close();
      await gateway.close();
    },
  };
}
