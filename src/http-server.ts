import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { HttpServingOptions } from "./config.js";
import type { ConsoleHandler } from "./console/console-routes.js";
import { errorMessage, SkillsmithError } from "./errors.js";
import type { Gateway } from "./gateway.js";
import { createAnswerRelay } from "./http/answer-relay.js";
import { createGuard, LOOPBACK } from "./http/guard.js";
import { readJsonBody } from "./http/json-body.js";
import { OPS_PATHS, serveOps } from "./http/ops-routes.js";
import { createSessionDirectory } from "./http/session-directory.js";
import { createSessions, type Sessions } from "./http/sessions.js";
import { createStatelessRequests, type StatelessRequests } from "./http/stateless.js";
import type { Logger } from "./logger.js";
import { drainRequests } from "./shutdown.js";

export interface HttpOptions {
  host: string;
  port: number;
  /** Required bearer token; mandatory when the host is not a loopback address. */
  token?: string;
}

/** What the server answers: the MCP endpoint, the web console, or both (`serve --http`). */
export interface HttpRoutes {
  mcp: boolean;
  console?: ConsoleHandler;
}

export interface HttpHandle {
  /** The MCP endpoint. */
  url: string;
  /** The web console, when it is served. */
  consoleUrl: string;
  /**
   * Stops taking new sessions and requests, gives the requests in flight `graceMs` to finish (answering the rest
   * with an error), then closes every session and connection.
   */
  close(graceMs?: number): Promise<void>;
}

const ALLOW = "GET, POST, DELETE";

/** Every refusal is a JSON-RPC error object, so a client's error message is the text written here. */
function refuse(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

const SESSION_NOT_FOUND =
  "Session not found: it expired, was closed, or the gateway restarted. " +
  "Send a new initialize request without mcp-session-id.";

function sessionIdOf(req: IncomingMessage): string | undefined {
  const id = req.headers["mcp-session-id"];
  return typeof id === "string" ? id : undefined;
}

/** A request from this host, not relayed by a proxy on it (which would make every client look local). */
function fromLoopback(req: IncomingMessage): boolean {
  const peer = req.socket.remoteAddress ?? "";
  const local = peer === "::1" || peer.startsWith("127.") || peer.startsWith("::ffff:127.");
  return local && req.headers["x-forwarded-for"] === undefined && req.headers.forwarded === undefined;
}

async function post(
  req: IncomingMessage,
  res: ServerResponse,
  sessions: Sessions,
  maxBodyBytes: number,
  stateless?: StatelessRequests,
) {
  const body = await readJsonBody(req, maxBodyBytes);
  if (body.kind === "gone") return;
  if (body.kind === "tooLarge") {
    refuse(
      res,
      413,
      -32000,
      `Request body too large: the limit is ${maxBodyBytes} bytes. ` +
        "Send less, or raise skillsmith.http.maxBodyBytes in mcp.json.",
    );
    return;
  }
  if (body.kind === "invalid") {
    refuse(res, 400, -32700, `Parse error: the request body is not JSON (${body.reason}).`);
    return;
  }
  if (stateless) {
    await stateless.serve(req, res, body.value);
    return;
  }
  const id = sessionIdOf(req);
  if (id !== undefined) {
    if (!(await sessions.serve(id, req, res, body.value))) refuse(res, 404, -32001, SESSION_NOT_FOUND);
    return;
  }
  if (!isInitializeRequest(body.value)) {
    refuse(res, 400, -32000, "No session: send an initialize request first, without mcp-session-id.");
    return;
  }
  await sessions.start(req, res, body.value);
}

async function getOrDelete(req: IncomingMessage, res: ServerResponse, sessions: Sessions) {
  const id = sessionIdOf(req);
  if (id === undefined) {
    refuse(res, 400, -32000, `${req.method} /mcp needs the mcp-session-id header of an initialized session.`);
  } else if (!(await sessions.serve(id, req, res))) {
    refuse(res, 404, -32001, SESSION_NOT_FOUND);
  }
}

/**
 * Serves the gateway over Streamable HTTP at /mcp: one MCP session per client, all sharing one gateway
 * (its downstream connections, catalog, skills and store); and, when `routes` has it, the web console at /.
 * Binds to 127.0.0.1 unless told otherwise, checks Host and Origin, and takes a bearer token when one is set
 * (the same checks for both). Plain node:http rather than Express: the body is read here, under
 * `limits.maxBodyBytes`, and every answer, errors included, is JSON (the console's pages aside).
 */
export async function startHttpServer(
  gateway: Gateway,
  options: HttpOptions & { limits: HttpServingOptions },
  logger: Logger,
  routes: HttpRoutes = { mcp: true },
): Promise<HttpHandle> {
  if (!LOOPBACK.has(options.host) && !options.token) {
    throw new SkillsmithError(
      "CONFIG_INVALID",
      `Refusing to serve on ${options.host} without a token: anyone who reaches it could run your tools. ` +
        "Set SKILLSMITH_TOKEN (clients send Authorization: Bearer <token>), or bind to 127.0.0.1.",
    );
  }
  const { limits } = options;
  const directory =
    limits.sessions === "shared" ? createSessionDirectory(gateway.store, limits.sessionIdleMs) : undefined;
  const sessions = createSessions(
    gateway,
    limits,
    logger,
    directory ? { directory, answers: createAnswerRelay(gateway.store, logger) } : {},
  );
  const stateless = limits.sessions === "stateless" ? createStatelessRequests(gateway, logger) : undefined;
  const sessionCount = () => sessions.count() + (stateless?.count() ?? 0);
  gateway.metrics.countSessions(sessionCount);
  // Off loopback the token guards the door; on loopback the Host header must name loopback too (DNS rebinding).
  const guard = createGuard(options);
  let draining = false;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const hostRefused = guard.host(req);
    if (hostRefused) {
      refuse(res, hostRefused.status, -32000, hostRefused.message);
      return;
    }
    const path = req.url?.split("?")[0] ?? "";
    if (routes.mcp && OPS_PATHS.has(path)) {
      // Health and metrics: open to this host's own monitoring (not through a proxy on it), else like /mcp.
      const refused =
        !options.token || limits.opsWithoutToken || fromLoopback(req) ? undefined : guard.caller(req);
      if (refused) refuse(res, refused.status, -32000, refused.message, refused.headers);
      else await serveOps(path, req, res, gateway, { sessions: sessionCount, draining: () => draining });
      return;
    }
    if (path !== "/mcp" || !routes.mcp) {
      if (routes.console) await routes.console.handle(req, res, guard);
      else refuse(res, 404, -32000, "Not found: the MCP endpoint is /mcp");
      return;
    }
    const callerRefused = guard.caller(req);
    if (callerRefused) {
      refuse(res, callerRefused.status, -32000, callerRefused.message, callerRefused.headers);
      return;
    }
    // While draining, a session still gets the answers its requests in flight wait for (elicitation, sampling);
    // its new requests are refused by its own tracker.
    if (draining && sessionIdOf(req) === undefined) {
      refuse(
        res,
        503,
        -32000,
        "Skillsmith is shutting down and takes no new sessions; connect again once it is back.",
        {
          connection: "close",
        },
      );
      return;
    }
    if (req.method === "POST") await post(req, res, sessions, limits.maxBodyBytes, stateless);
    else if (stateless && (req.method === "GET" || req.method === "DELETE")) {
      refuse(
        res,
        405,
        -32000,
        `Method ${req.method} is not allowed: this gateway is stateless (skillsmith.http.sessions), it has no sessions or event streams; POST each request.`,
        { allow: "POST" },
      );
    } else if (req.method === "GET" || req.method === "DELETE") await getOrDelete(req, res, sessions);
    else {
      refuse(res, 405, -32000, `Method ${req.method} is not allowed on /mcp; it takes ${ALLOW}.`, {
        allow: ALLOW,
      });
    }
  };

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error(`HTTP ${req.method} ${req.url}: ${errorMessage(error)}`);
      if (res.headersSent) res.destroy();
      else refuse(res, 500, -32603, "Internal error; the gateway's log has the details.");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/mcp`,
    consoleUrl: `http://${host}:${port}/`,
    async close(graceMs = 0) {
      draining = true;
      await drainRequests([...sessions.requests(), ...(stateless?.requests() ?? [])], graceMs, logger);
      await Promise.all([sessions.close(), stateless?.close()]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Whatever is still open (an upload half sent, a stream of a closed session) ends with the server.
      server.closeAllConnections();
      await closed;
    },
  };
}
