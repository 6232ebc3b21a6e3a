/**
 * The reference `everything` server over Streamable HTTP on a loopback port, one session per client, so the
 * gateway and the direct baseline reach the very same server process. (The package's own HTTP mode listens on
 * every interface and logs each request to stdout; this host binds 127.0.0.1 and stays quiet.)
 * Prints `{"url": …}` on stdout once listening; ends on SIGTERM.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
// @ts-expect-error: the package ships no types for its server factory
import { createServer } from "@modelcontextprotocol/server-everything/dist/server/index.js";

type Everything = {
  server: { connect(t: StreamableHTTPServerTransport): Promise<void>; server: { onclose?: () => void } };
  cleanup(id?: string): void;
};

const transports = new Map<string, StreamableHTTPServerTransport>();

async function readBody(req: import("node:http").IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
}

const http = createHttpServer((req, res) => {
  void (async () => {
    const id = req.headers["mcp-session-id"];
    const body = req.method === "POST" ? await readBody(req) : undefined;
    let transport = typeof id === "string" ? transports.get(id) : undefined;
    if (!transport && id === undefined && isInitializeRequest(body)) {
      const { server, cleanup } = (createServer as () => Everything)();
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void transports.set(sid, created),
      });
      server.server.onclose = () => {
        if (created.sessionId) transports.delete(created.sessionId);
        cleanup(created.sessionId);
      };
      await server.connect(created);
      transport = created;
    }
    if (!transport) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }),
      );
      return;
    }
    await transport.handleRequest(req, res, body);
  })().catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(error));
  });
});

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
});
process.on("SIGTERM", () => {
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
