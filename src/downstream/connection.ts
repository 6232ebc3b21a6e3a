import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  type Tool,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { ServerConfig } from "../config.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { Logger } from "../logger.js";
import { createLimiter } from "./limiter.js";
import { createTransport } from "./transport.js";

export type ServerState = "connecting" | "ready" | "failed" | "disabled" | "closed";

export interface ServerStatus {
  name: string;
  state: ServerState;
  /** Tools of the last successful listing. */
  toolCount: number;
  /** Milliseconds from spawn to the first tool listing of the current connection. */
  connectMs?: number;
  /** Why the server is not ready, with the last lines it wrote to stderr. */
  error?: string;
  /** Connection attempts so far (1 = first try). */
  attempts: number;
  /** When the next reconnect attempt is due, for a failed server. */
  retryAt?: number;
}

export interface ConnectionOptions {
  server: ServerConfig;
  logger: Logger;
  version: string;
  /** Called after every successful listing (initial, after a restart, after list_changed). */
  onTools(server: string, tools: Tool[]): void;
  /** First retry delay; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  transportFactory?: (server: ServerConfig) => Transport;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Connection {
  readonly name: string;
  start(): void;
  /** Resolves when the first connection attempt has settled (ready or failed). */
  firstAttempt(): Promise<void>;
  status(): ServerStatus;
  call(tool: string, args: Record<string, unknown>, options?: CallOptions): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * The least time a server gets to start and list its tools. `timeoutMs` is the per-call timeout; a start may
 * take longer than any call (`npx -y` may download the server first), so a short call timeout must not fail it.
 */
const MIN_START_TIMEOUT_MS = 60_000;

/** Keeps one downstream server connected: spawn, list tools, follow list_changed, reconnect with backoff. */
export function createConnection(options: ConnectionOptions): Connection {
  const { server, logger } = options;
  const startTimeoutMs = Math.max(server.options.timeoutMs, MIN_START_TIMEOUT_MS);
  const backoffMs = options.backoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  const makeTransport = options.transportFactory ?? createTransport;
  const limiter = createLimiter(server.options.concurrency);
  const stderrTail: string[] = [];

  let state: ServerState = server.options.disabled ? "disabled" : "connecting";
  let client: Client | undefined;
  let toolCount = 0;
  let connectMs: number | undefined;
  let lastError: string | undefined;
  let attempts = 0;
  let retryAt: number | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let listing: Promise<void> | undefined;
  let relistAgain = false;
  let resolveFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  if (state === "disabled") resolveFirst();

  const log = (message: string) => `server "${server.name}": ${message}`;

  const recordStderr = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split(/\r?\n/)) {
      if (!line.trim()) continue;
      logger.debug(log(`stderr: ${line}`));
      stderrTail.push(line);
      if (stderrTail.length > 5) stderrTail.shift();
    }
  };

  const describe = (error: unknown) => {
    const tail = stderrTail.length > 0 ? ` (stderr: ${stderrTail.join(" | ").slice(-400)})` : "";
    return `${errorMessage(error)}${tail}`;
  };

  async function listAll(c: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    const seen = new Set<string>();
    // A server that repeats a cursor would page forever; stop at the first repeat.
    for (let page = 0; page < 1000; page++) {
      const result = await c.listTools(cursor === undefined ? {} : { cursor }, { timeout: startTimeoutMs });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined || seen.has(cursor)) break;
      seen.add(cursor);
    }
    return tools;
  }

  /** Re-lists tools; concurrent triggers coalesce into one more listing. */
  function relist(c: Client): Promise<void> {
    if (listing) {
      relistAgain = true;
      return listing;
    }
    listing = (async () => {
      try {
        do {
          relistAgain = false;
          const tools = await listAll(c);
          toolCount = tools.length;
          options.onTools(server.name, tools);
        } while (relistAgain);
      } finally {
        listing = undefined;
      }
    })();
    return listing;
  }

  function scheduleRetry(reason: string) {
    if (state === "closed") return;
    state = "failed";
    lastError = reason;
    failures++;
    const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (failures - 1));
    retryAt = Date.now() + delay;
    const say = failures === 1 ? logger.warn : logger.debug;
    say(log(`${reason}; retrying in ${Math.round(delay / 1000)}s`));
    retryTimer = setTimeout(connect, delay);
    retryTimer.unref();
  }

  async function connect(): Promise<void> {
    if (state === "closed" || state === "disabled") return;
    state = "connecting";
    retryAt = undefined;
    attempts++;
    stderrTail.length = 0;
    const started = performance.now();
    const c = new Client({ name: "skillsmith", version: options.version }, { capabilities: {} });
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      relist(c).catch((error) =>
        logger.warn(log(`re-listing tools after list_changed failed: ${errorMessage(error)}`)),
      );
    });
    let opened = false;
    c.onclose = () => {
      if (client !== c || state === "closed") return;
      client = undefined;
      if (opened) scheduleRetry(`connection closed (server exited or crashed)${describe("").trimEnd()}`);
    };
    try {
      const transport = makeTransport(server);
      if ("stderr" in transport) {
        const stream = (transport as { stderr: NodeJS.ReadableStream | null }).stderr;
        stream?.on("data", recordStderr);
      }
      client = c;
      await c.connect(transport, { timeout: startTimeoutMs });
      opened = true;
      await relist(c);
      connectMs = Math.round(performance.now() - started);
      state = "ready";
      lastError = undefined;
      failures = 0;
      logger.info(log(`ready with ${toolCount} tools in ${connectMs} ms`));
    } catch (error) {
      const reason = `failed to start: ${describe(error)}`;
      if (client === c) client = undefined;
      await c.close().catch(() => {});
      scheduleRetry(reason);
    } finally {
      resolveFirst();
    }
  }

  return {
    name: server.name,
    start() {
      if (state === "connecting" && attempts === 0) void connect();
    },
    firstAttempt: () => first,
    status: () => ({
      name: server.name,
      state,
      toolCount,
      attempts,
      ...(connectMs !== undefined && { connectMs }),
      ...(lastError !== undefined && state !== "ready" && { error: lastError }),
      ...(retryAt !== undefined && state === "failed" && { retryAt }),
    }),
    async call(tool, args, callOptions = {}) {
      const timeoutMs = callOptions.timeoutMs ?? server.options.timeoutMs;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, timeout]) : timeout;
      const where = `${server.name}.${tool}`;
      try {
        return await limiter.run(async () => {
          const c = client;
          if (!c || state !== "ready") {
            throw new SkillsmithError(
              "SERVER_UNAVAILABLE",
              `Server "${server.name}" is ${state}${lastError ? `: ${lastError}` : ""}. Run \`skillsmith doctor\` to see why.`,
              { server: server.name, state },
            );
          }
          const result = await c.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
            signal,
            timeout: timeoutMs,
          });
          return result as CallToolResult;
        }, signal);
      } catch (error) {
        if (error instanceof SkillsmithError) throw error;
        const cause = timeout.aborted
          ? `timed out after ${timeoutMs} ms (raise skillsmith.servers.${server.name}.timeoutMs to wait longer)`
          : errorMessage(error);
        throw new SkillsmithError("CALL_FAILED", `Call to ${where} failed: ${cause}`, { tool: where, cause });
      }
    },
    async close() {
      state = "closed";
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      resolveFirst();
      await c?.close().catch(() => {});
    },
  };
}
