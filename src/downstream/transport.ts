import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ServerConfig } from "../config.js";
import { StdioChildTransport } from "./stdio-transport.js";

/** Builds the transport for one configured server; a stdio child's stderr is piped so we can log it. */
export function createTransport(server: ServerConfig): Transport {
  if (server.kind === "stdio") {
    return new StdioChildTransport({
      name: server.name,
      command: server.command,
      args: server.args,
      env: server.env,
      cwd: server.cwd,
      maxMessageBytes: server.options.maxMessageBytes,
    });
  }
  const url = new URL(server.url);
  const requestInit = { headers: server.headers };
  return server.transport === "sse"
    ? new SSEClientTransport(url, { requestInit })
    : new StreamableHTTPClientTransport(url, { requestInit });
}
