import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { errorMessage } from "../errors.js";
import type { Gateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";
import { type RequestTracker, trackRequests } from "../shutdown.js";
import type { AnswerRelay } from "./answer-relay.js";
import { createSessionEventStore } from "./event-store.js";
import { adoptSession, type SessionRecord } from "./session-adoption.js";
import type { SessionDirectory } from "./session-directory.js";

export interface SessionLimits {
  /** A session with no request open for this long is closed. */
  sessionIdleMs: number;
  /** At most this many sessions; a new one closes the longest idle first. */
  maxSessions: number;
  /** Keep recent events for clients that reconnect with Last-Event-ID (see skillsmith.http.resumable). */
  resumable: boolean;
}

export interface SessionOptions {
  /**
   * Shared sessions: each is recorded here when it starts, and a request for a session this instance does not
   * hold is served by adopting it from here (any instance serves any session, behind any balancer).
   */
  directory?: SessionDirectory;
  /** Shared sessions: the client's answers to requests of another instance are passed on to it. */
  answers?: AnswerRelay;
}

/** The MCP sessions of one HTTP endpoint: each a transport, an MCP server and an event store, all closed together. */
export interface Sessions {
  /** Starts a session with its initialize request (the body already read). */
  start(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  /** Hands a request to its session; false, with nothing answered, when no session has this id (any more). */
  serve(id: string, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<boolean>;
  /** The open requests of every session, for a shutdown to wait for. */
  requests(): RequestTracker[];
  /** Sessions held by this instance. */
  count(): number;
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
  /** Shared sessions: what the directory holds, and when this instance last renewed it there. */
  record?: SessionRecord;
  touchedAt: number;
  /** The client asked to end it (DELETE): every instance forgets it, not only this one. */
  deleting?: boolean;
}

export function createSessions(
  gateway: Gateway,
  limits: SessionLimits,
  logger: Logger,
  { directory, answers }: SessionOptions = {},
): Sessions {
  const sessions = new Map<string, Session>();
  const end = (id: string, session: Session, why: string, log = logger.debug) => {
    sessions.delete(id);
    log(`closing HTTP session ${id}: ${why}`);
    session.server
      .close()
      .catch((error: unknown) => logger.debug(`closing session ${id}: ${errorMessage(error)}`));
  };

  // Ended by its client on another instance: this copy goes too.
  const stopForgetting = directory?.onForgotten((id) => {
    const session = sessions.get(id);
    if (session) end(id, session, "ended by its client on another instance");
  });

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

  /** A transport and an MCP server, connected; `initialize` records the session (shared) as it starts. */
  async function open(initialize?: SessionRecord): Promise<Session> {
    const events = createSessionEventStore();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      ...(limits.resumable && { eventStore: events }),
      onsessioninitialized: async (id) => {
        makeRoom();
        sessions.set(id, session);
        answers?.attach(transport, id);
        // Awaited before the client has its answer: its next request may land on another instance.
        if (directory && session.record) {
          await directory.record(id, session.record).catch((error: unknown) => {
            logger.warn(
              `HTTP session ${id} is served by this instance only: the store did not record it (${errorMessage(error)})`,
            );
          });
        }
      },
    });
    const server = createServer(gateway, logger);
    const session: Session = {
      server,
      transport,
      open: 0,
      idleSince: Date.now(),
      closed: false,
      touchedAt: Date.now(),
      ...(initialize && { record: initialize }),
    };
    // Set before connect: the server chains its own close (which stops its skill listener) after this one.
    transport.onclose = () => {
      session.closed = true;
      clearTimeout(session.timer);
      events.clear();
      const id = transport.sessionId;
      if (id !== undefined && sessions.get(id) === session) sessions.delete(id);
      if (id !== undefined && session.deleting) void directory?.forget(id);
    };
    await server.connect(transport);
    session.requests = trackRequests(transport, logger);
    return session;
  }

  // Two requests of one session at once: one adoption, which both wait for.
  const adopting = new Map<string, Promise<Session | undefined>>();
  const adopt = (id: string): Promise<Session | undefined> => {
    let pending = adopting.get(id);
    if (!pending) {
      pending = adoptFromStore(id).finally(() => adopting.delete(id));
      adopting.set(id, pending);
    }
    return pending;
  };

  /** A session started on another instance, served here from its record in the store. */
  async function adoptFromStore(id: string): Promise<Session | undefined> {
    const record = await directory?.find(id);
    if (!record) return undefined;
    const session = await open(record);
    if (!adoptSession(session.transport, session.server, id, record)) {
      logger.warn(
        "cannot serve sessions started on other instances with this version of the MCP SDK; use http.sessions: stateless, or session affinity",
      );
      await session.server.close();
      return undefined;
    }
    makeRoom();
    sessions.set(id, session);
    answers?.attach(session.transport, id);
    logger.debug(`HTTP session ${id}: adopted from the store`);
    return session;
  }

  return {
    async start(req, res, body) {
      const params = (body as { params?: unknown }).params;
      const record =
        directory && params !== null && typeof params === "object"
          ? { initialize: params as Record<string, unknown>, startedAt: new Date().toISOString() }
          : undefined;
      const session = await open(record);
      const { server, transport } = session;
      track(session, res);
      try {
        await transport.handleRequest(req, res, body);
      } finally {
        // The transport refused the initialize (a bad header, say): nothing will ever use this server.
        if (transport.sessionId === undefined) await server.close();
      }
    },

    async serve(id, req, res, body) {
      const session = sessions.get(id) ?? (directory && (await adopt(id)));
      if (!session) return false;
      track(session, res);
      if (req.method === "DELETE") session.deleting = true;
      if (directory && session.record && Date.now() - session.touchedAt > limits.sessionIdleMs / 10) {
        session.touchedAt = Date.now();
        directory.touch(id, session.record);
      }
      await session.transport.handleRequest(req, res, body);
      return true;
    },

    requests: () => [...sessions.values()].flatMap((session) => session.requests ?? []),
    count: () => sessions.size,

    async close() {
      stopForgetting?.();
      answers?.close();
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
