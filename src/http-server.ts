import { randomUUID, timingSafeEqual } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Request, Response } from "express";
import { SkillsmithError } from "./errors.js";
import type { Gateway } from "./gateway.js";
import type { Logger } from "./logger.js";
import { createServer } from "./server.js";

export interface HttpOptions {
  host: string;
  port: number;
  /** Required bearer token; mandatory when the host is not a loopback address. */
  token?: string;
}

export interface HttpHandle {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A browser page may only reach a loopback gateway from a loopback origin (DNS rebinding, drive-by calls). */
function originAllowed(origin: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return LOOPBACK.has(new URL(origin).hostname.replace(/^\[|\]$/g, ""));
  } catch {
    return false;
  }
}

/**
 * Serves the gateway over Streamable HTTP at /mcp: one MCP session per client, all sharing one gateway
 * (its downstream connections, catalog, skills and store). Binds to 127.0.0.1 unless told otherwise,
 * checks Host and Origin, and takes a bearer token when one is set.
 */
export async function startHttpServer(
  gateway: Gateway,
  options: HttpOptions,
  logger: Logger,
): Promise<HttpHandle> {
  if (!LOOPBACK.has(options.host) && !options.token) {
    throw new SkillsmithError(
      "CONFIG_INVALID",
      `Refusing to serve on ${options.host} without a token: anyone who reaches it could run your tools. ` +
        "Set SKILLSMITH_TOKEN (clients send Authorization: Bearer <token>), or bind to 127.0.0.1.",
    );
  }
  const app = createMcpExpressApp({ host: options.host });
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  app.use("/mcp", (req: Request, res: Response, next: () => void) => {
    if (!originAllowed(req.headers.origin)) {
      res.status(403).json({ error: `Origin ${req.headers.origin} is not allowed` });
      return;
    }
    if (options.token && !sameToken(req.headers.authorization ?? "", `Bearer ${options.token}`)) {
      res.status(401).set("WWW-Authenticate", "Bearer").json({ error: "Missing or wrong bearer token" });
      return;
    }
    next();
  });

  const existing = (req: Request) => {
    const id = req.headers["mcp-session-id"];
    return typeof id === "string" ? sessions.get(id) : undefined;
  };

  app.post("/mcp", async (req: Request, res: Response) => {
    let transport = existing(req);
    if (!transport) {
      if (req.headers["mcp-session-id"] !== undefined || !isInitializeRequest(req.body)) {
        res.status(400).json({
          jsonrpc: "2.0",
          error: {
            code: -32000,
            message: "No valid session: send an initialize request first, without mcp-session-id",
          },
          id: null,
        });
        return;
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId);
      };
      await createServer(gateway, logger).connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, req.body);
  });

  const bySession = async (req: Request, res: Response) => {
    const transport = existing(req);
    if (!transport) {
      res.status(400).json({ error: "Unknown or missing mcp-session-id" });
      return;
    }
    await transport.handleRequest(req, res);
  };
  app.get("/mcp", bySession);
  app.delete("/mcp", bySession);

  const server = await new Promise<HttpServer>((resolve, reject) => {
    const listening = app.listen(options.port, options.host, () => resolve(listening));
    listening.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/mcp`,
    async close() {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
