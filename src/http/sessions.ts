import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { errorMessage } from "../errors.js";
import type { Gateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";
import { type RequestTracker, trackRequests } from "../shutdown.js";
import { createSessionEventStore } from "./event-store.js";

export interface SessionLimits {
  /** A session with no request open for this long is closed. */
  sessionIdleMs: number;
  /** At most this many sessions; a new one closes the longest idle first. */
  maxSessions: number;
}

/** The MCP sessions of one HTTP endpoint: each a transport, an MCP server and an event store, all closed together. */
export interface Sessions {
  /** Starts a session with its initialize request (the body already read). */
  start(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  /** Hands a request to its session; false, with nothing answered, when no session has this id (any more). */
  serve(id: string, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<boolean>;
  /** The open requests of every session, for a shutdown to wait for. */
  requests(): RequestTracker[];
  close(): Promise<void>;
}

interface Session {
  server: Server;
  transport: StreamableHTTPServerTransport;
  /** Set once connected, before the session's first request is handled. */
  requests?: RequestTracker;
  /** Requests still being answered, a GET event stream among them; a session is idle only at zero. */
  open: number;
  idleSince: number;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

export function createSessions(gateway: Gateway, limits: SessionLimits, logger: Logger): Sessions {
  const sessions = new Map<string, Session>();

  const end = (id: string, session: Session, why: string, log = logger.debug) => {
    sessions.delete(id);
    log(`closing HTTP session ${id}: ${why}`);
    session.server
      .close()
      .catch((error: unknown) => logger.debug(`closing session ${id}: ${errorMessage(error)}`));
  };

  /** Counts the request as open until its response is done, and arms the idle timer when none is left. */
  const track = (session: Session, res: ServerResponse) => {
    session.open += 1;
    clearTimeout(session.timer);
    res.once("close", () => {
      session.open -= 1;
      session.idleSince = Date.now();
      if (session.open > 0 || session.closed) return;
      session.timer = setTimeout(() => {
        const id = session.transport.sessionId;
        if (id !== undefined)
          end(id, session, `idle for ${limits.sessionIdleMs} ms (skillsmith.http.sessionIdleMs)`);
      }, limits.sessionIdleMs);
      // An idle session must never keep the process alive.
      session.timer.unref();
    });
  };

  // A session still answering a request is busy, never idle: it is closed for room only after every idle one.
  const idleFrom = (session: Session) => (session.open > 0 ? Number.POSITIVE_INFINITY : session.idleSince);

  const makeRoom = () => {
    while (sessions.size >= limits.maxSessions) {
      const [id, session] = [...sessions].reduce((a, b) => (idleFrom(b[1]) < idleFrom(a[1]) ? b : a));
      // Worth telling: at the cap, a client that merely paused loses its session.
      end(
        id,
        session,
        `the longest idle of ${limits.maxSessions} (skillsmith.http.maxSessions)`,
        logger.info,
      );
    }
  };

  return {
    async start(req, res, body) {
      const events = createSessionEventStore();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: events,
        onsessioninitialized: (id) => {
          makeRoom();
          sessions.set(id, session);
        },
      });
      const server = createServer(gateway, logger);
      const session: Session = { server, transport, open: 0, idleSince: Date.now(), closed: false };
      // Set before connect: the server chains its own close (which stops its skill listener) after this one.
      transport.onclose = () => {
        session.closed = true;
        clearTimeout(session.timer);
        events.clear();
        if (transport.sessionId !== undefined && sessions.get(transport.sessionId) === session) {
          sessions.delete(transport.sessionId);
        }
      };
      await server.connect(transport);
      session.requests = trackRequests(transport, logger);
      track(session, res);
      try {
        await transport.handleRequest(req, res, body);
      } finally {
        // The transport refused the initialize (a bad header, say): nothing will ever use this server.
        if (transport.sessionId === undefined) await server.close();
      }
    },

    async serve(id, req, res, body) {
      const session = sessions.get(id);
      if (!session) return false;
      track(session, res);
      await session.transport.handleRequest(req, res, body);
      return true;
    },

    requests: () => [...sessions.values()].flatMap((session) => session.requests ?? []),

    async close() {
      const all = [...sessions];
      sessions.clear();
      // Shutting down: a session whose client already went has nothing left to close.
      await Promise.all(
        all.map(([id, session]) =>
          session.server
            .close()
            .catch((error: unknown) => logger.debug(`closing session ${id}: ${errorMessage(error)}`)),
        ),
      );
    },
  };
}
