import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ServerConfig } from "../config.js";
import { SkillsmithError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  type CallOptions,
  type Connection,
  type ConnectionOptions,
  createConnection,
  type ServerStatus,
} from "./connection.js";

export interface PoolOptions {
  servers: ServerConfig[];
  logger: Logger;
  version: string;
  onTools(server: string, tools: Tool[]): void;
  startupWaitMs?: number;
  roots?: ConnectionOptions["roots"];
  connection?: Partial<Pick<ConnectionOptions, "backoffMs" | "maxBackoffMs" | "transportFactory">>;
}

export interface Pool {
  /** Connects every enabled server concurrently; returns at once. */
  start(): void;
  /** Resolves when each server has either connected or failed once. */
  settled(): Promise<void>;
  servers(): string[];
  status(): ServerStatus[];
  /** Waits for a server that is connecting (see Connection.ready); rejects for an unknown or failed one. */
  ready(server: string, signal?: AbortSignal): Promise<void>;
  /** Tells every connected server that the clients' roots changed. */
  rootsChanged(): void;
  call(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<CallToolResult>;
  close(): Promise<void>;
}

export function createPool(options: PoolOptions): Pool {
  const connections = new Map<string, Connection>(
    options.servers.map((server) => [
      server.name,
      createConnection({
        ...options.connection,
        server,
        logger: options.logger,
        version: options.version,
        onTools: options.onTools,
        ...(options.startupWaitMs !== undefined && { startupWaitMs: options.startupWaitMs }),
        ...(options.roots && { roots: options.roots }),
      }),
    ]),
  );
  const connection = (server: string): Connection => {
    const found = connections.get(server);
    if (found) return found;
    throw new SkillsmithError(
      "TOOL_NOT_FOUND",
      `Unknown server "${server}". Known servers: ${[...connections.keys()].join(", ") || "none"}.`,
      { server, known: [...connections.keys()] },
    );
  };
  return {
    start() {
      for (const c of connections.values()) c.start();
    },
    async settled() {
      await Promise.all([...connections.values()].map((c) => c.firstAttempt()));
    },
    servers: () => [...connections.keys()],
    status: () => [...connections.values()].map((c) => c.status()),
    ready: async (server, signal) => connection(server).ready(signal),
    rootsChanged() {
      for (const c of connections.values()) c.rootsChanged();
    },
    call: async (server, tool, args, callOptions) => connection(server).call(tool, args, callOptions),
    async close() {
      await Promise.all([...connections.values()].map((c) => c.close()));
    },
  };
}
