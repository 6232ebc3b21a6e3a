import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  type CreateMessageRequest,
  CreateMessageRequestSchema,
  type CreateMessageResult,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
  ErrorCode,
  ListRootsRequestSchema,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
  type Progress,
  type Root,
  type Tool,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { coalesced, deadline } from "../async.js";
import type { ServerConfig } from "../config.js";
import { errorMessage, protocolError, SkillsmithError } from "../errors.js";
import type { Logger } from "../logger.js";
import { redact } from "../secrets.js";
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
  /** When the current connection became ready (epoch ms). */
  readySince?: number;
  /** The last failure (redacted), kept after the server recovers: what the last restart was about. */
  lastFailure?: { message: string; at: number };
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
  /** How long a call waits for a server that is connecting (first start, or reconnecting after a crash). */
  startupWaitMs?: number;
  transportFactory?: (server: ServerConfig) => Transport;
  /** The roots the clients in front of the gateway offer, handed to servers that ask (roots/list). */
  roots?: () => Promise<Root[]>;
}

/**
 * Where a downstream server's messages about a call go: the client whose request made it. A method is
 * absent when that client cannot take it (no progress token, no elicitation or sampling capability).
 */
export interface CallRelay {
  progress?(progress: Progress): void;
  log?(message: LoggingMessageNotification["params"]): void;
  elicit?(params: ElicitRequest["params"], signal: AbortSignal): Promise<ElicitResult>;
  sample?(params: CreateMessageRequest["params"], signal: AbortSignal): Promise<CreateMessageResult>;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  relay?: CallRelay;
}

export interface Connection {
  readonly name: string;
  start(): void;
  /** Resolves when the first connection attempt has settled (ready or failed). */
  firstAttempt(): Promise<void>;
  /**
   * Resolves once the server is ready. A server connecting (its first start, or back after a crash) is waited
   * for, up to `startupWaitMs` or the signal; a server that failed to start rejects at once with the reason.
   */
  ready(signal?: AbortSignal): Promise<void>;
  status(): ServerStatus;
  call(tool: string, args: Record<string, unknown>, options?: CallOptions): Promise<CallToolResult>;
  /** Tells the server the clients' roots changed (it may ask for them again). */
  rootsChanged(): void;
  close(): Promise<void>;
}

/**
 * What Skillsmith offers a downstream server as its client: whatever the clients in front of it can do. A request
 * that no client in front can take is refused with a clear error (see `relayFor`).
 */
const CLIENT_CAPABILITIES = {
  roots: { listChanged: true },
  sampling: {},
  elicitation: { form: {}, url: {} },
};

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
  const startupWaitMs = options.startupWaitMs ?? 20_000;
  const makeTransport = options.transportFactory ?? createTransport;
  const limiter = createLimiter(server.options.concurrency);
  const stderrTail: string[] = [];
  /** The relays of the calls in flight, oldest first: a server's logs and requests belong to them. */
  const inFlight = new Set<{ relay: CallRelay }>();

  /** The oldest call in flight whose client can take this kind of request; the server sends it on a call's behalf. */
  function relayFor<K extends "elicit" | "sample">(kind: K, what: string): NonNullable<CallRelay[K]> {
    for (const { relay } of inFlight) {
      const handler = relay[kind];
      if (handler) return handler.bind(relay) as NonNullable<CallRelay[K]>;
    }
    throw protocolError(
      ErrorCode.InvalidRequest,
      inFlight.size === 0
        ? `Skillsmith forwards ${what} requests only during a tool call, to the client that made it; no call is in flight.`
        : `The client calling through Skillsmith did not declare the ${what} capability, so the request cannot be forwarded.`,
    );
  }

  let state: ServerState = server.options.disabled ? "disabled" : "connecting";
  let client: Client | undefined;
  let toolCount = 0;
  let connectMs: number | undefined;
  let lastError: string | undefined;
  let lastFailure: { message: string; at: number } | undefined;
  let readySince: number | undefined;
  let attempts = 0;
  let retryAt: number | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  /** The last failure was a ready connection closing (a crash), not a start that failed. */
  let crashed = false;
  const stateWaiters = new Set<() => void>();
  const stateChanged = () => {
    for (const waiter of [...stateWaiters]) waiter();
  };
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

  /** Shown to clients (SERVER_UNAVAILABLE) and in doctor: secrets are redacted before the tail is cut. */
  const describe = (error: unknown) => {
    const tail = stderrTail.length > 0 ? ` (stderr: ${redact(stderrTail.join(" | ")).slice(-400)})` : "";
    return redact(`${errorMessage(error)}${tail}`);
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

  function scheduleRetry(reason: string, crash = false) {
    if (state === "closed") return;
    state = "failed";
    lastError = reason;
    lastFailure = { message: reason, at: Date.now() };
    crashed = crash;
    failures++;
    const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (failures - 1));
    retryAt = Date.now() + delay;
    const say = failures === 1 ? logger.warn : logger.debug;
    say(log(`${reason}; retrying in ${Math.round(delay / 1000)}s`));
    retryTimer = setTimeout(connect, delay);
    retryTimer.unref();
    stateChanged();
  }

  async function connect(): Promise<void> {
    if (state === "closed" || state === "disabled") return;
    state = "connecting";
    retryAt = undefined;
    attempts++;
    stderrTail.length = 0;
    const started = performance.now();
    const c = new Client(
      { name: "skillsmith", version: options.version },
      { capabilities: CLIENT_CAPABILITIES },
    );
    c.setRequestHandler(ElicitRequestSchema, (request, extra) =>
      relayFor("elicit", "elicitation")(request.params, extra.signal),
    );
    c.setRequestHandler(CreateMessageRequestSchema, (request, extra) =>
      relayFor("sample", "sampling")(request.params, extra.signal),
    );
    c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: (await options.roots?.()) ?? [] }));
    c.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logger.debug(
        log(`log (${notification.params.level}): ${JSON.stringify(notification.params.data)}`.slice(0, 1000)),
      );
      for (const { relay } of inFlight) relay.log?.(notification.params);
    });
    // Re-lists tools; list_changed notifications that come during a listing coalesce into one more.
    const relist = coalesced(async () => {
      const tools = await listAll(c);
      toolCount = tools.length;
      options.onTools(server.name, tools);
    });
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      relist().catch((error) =>
        logger.warn(log(`re-listing tools after list_changed failed: ${errorMessage(error)}`)),
      );
    });
    let opened = false;
    c.onclose = () => {
      if (client !== c || state === "closed") return;
      client = undefined;
      if (opened)
        scheduleRetry(`connection closed (server exited or crashed)${describe("").trimEnd()}`, true);
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
      await relist();
      connectMs = Math.round(performance.now() - started);
      state = "ready";
      readySince = Date.now();
      lastError = undefined;
      failures = 0;
      crashed = false;
      logger.info(log(`ready with ${toolCount} tools in ${connectMs} ms`));
      stateChanged();
    } catch (error) {
      const reason = `failed to start: ${describe(error)}`;
      if (client === c) client = undefined;
      // The start failed already; a client that also fails to close has nothing more to tell.
      await c
        .close()
        .catch((closing: unknown) =>
          logger.debug(log(`close after a failed start: ${errorMessage(closing)}`)),
        );
      scheduleRetry(reason);
    } finally {
      resolveFirst();
    }
  }

  const unavailable = () =>
    new SkillsmithError(
      "SERVER_UNAVAILABLE",
      `Server "${server.name}" is ${state}${lastError ? `: ${lastError}` : ""}. Run \`skillsmith doctor\` to see why.`,
      { server: server.name, state },
    );

  /** Connecting now, or about to reconnect after its first crash: worth waiting for rather than failing. */
  const comingUp = () => state === "connecting" || (state === "failed" && crashed && failures === 1);

  function ready(signal?: AbortSignal): Promise<void> {
    if (state === "ready") return Promise.resolve();
    if (!comingUp()) return Promise.reject(unavailable());
    const budget = deadline(startupWaitMs, signal);
    const stop = budget.signal;
    return new Promise<void>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        stateWaiters.delete(onChange);
        stop.removeEventListener("abort", onAbort);
        budget.clear();
        outcome();
      };
      const onChange = () => {
        if (state === "ready") settle(resolve);
        else if (!comingUp()) settle(() => reject(unavailable()));
      };
      const onAbort = () =>
        settle(() =>
          reject(
            budget.timedOut()
              ? new SkillsmithError(
                  "SERVER_UNAVAILABLE",
                  `Server "${server.name}" is still ${state} after ${startupWaitMs} ms${lastError ? ` (${lastError})` : ""}; ` +
                    "try again in a moment, raise skillsmith.startupWaitMs to wait longer, or run `skillsmith doctor`.",
                  { server: server.name, state },
                )
              : stop.reason,
          ),
        );
      if (stop.aborted) return onAbort();
      stateWaiters.add(onChange);
      stop.addEventListener("abort", onAbort, { once: true });
    });
  }

  return {
    name: server.name,
    ready,
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
      ...(readySince !== undefined && state === "ready" && { readySince }),
      ...(lastFailure && { lastFailure }),
    }),
    async call(tool, args, callOptions = {}) {
      const timeoutMs = callOptions.timeoutMs ?? server.options.timeoutMs;
      const timeout = deadline(timeoutMs, callOptions.signal);
      const { signal } = timeout;
      const where = `${server.name}.${tool}`;
      const relay = callOptions.relay ?? {};
      const progress = relay.progress?.bind(relay);
      try {
        await ready(signal);
        // Keyed by tool: a tool that hangs holds only its share of the server's slots (see createLimiter).
        return await limiter.lane(tool).run(async () => {
          const c = client;
          if (!c || state !== "ready") throw unavailable();
          // One entry per call: calls of one run share a relay, and each must stay until it ends.
          const entry = { relay };
          inFlight.add(entry);
          try {
            const result = await c.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
              signal,
              timeout: timeoutMs,
              ...(progress && { onprogress: progress }),
            });
            return result as CallToolResult;
          } finally {
            inFlight.delete(entry);
          }
        }, signal);
      } catch (error) {
        if (error instanceof SkillsmithError) throw error;
        const cause = timeout.timedOut()
          ? `timed out after ${timeoutMs} ms (raise skillsmith.servers.${server.name}.timeoutMs to wait longer)`
          : redact(errorMessage(error));
        throw new SkillsmithError("CALL_FAILED", `Call to ${where} failed: ${cause}`, { tool: where, cause });
      } finally {
        timeout.clear();
      }
    },
    rootsChanged() {
      if (state !== "ready") return;
      client?.sendRootsListChanged().catch((error: unknown) => {
        logger.debug(log(`could not tell it the roots changed: ${errorMessage(error)}`));
      });
    },
    async close() {
      state = "closed";
      if (retryTimer) clearTimeout(retryTimer);
      stateChanged();
      const c = client;
      client = undefined;
      resolveFirst();
      await c?.close().catch((error: unknown) => logger.debug(log(`close: ${errorMessage(error)}`)));
    },
  };
}
