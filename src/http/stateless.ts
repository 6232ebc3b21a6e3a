import type { IncomingMessage, ServerResponse } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { errorMessage } from "../errors.js";
import type { Gateway } from "../gateway.js";
import type { Logger } from "../logger.js";
import { createServer } from "../server.js";
import { type RequestTracker, trackRequests } from "../shutdown.js";

/**
 * Stateless serving (`skillsmith.http.sessions: "stateless"`): every POST gets a transport and an MCP server of
 * its own, without a session id, closed when its answer is done. Nothing is kept between requests, so any
 * instance answers any request; the price: no event stream (GET), no list_changed between requests, and no
 * elicitation or sampling (the client's capabilities are not known outside its initialize).
 */
export interface StatelessRequests {
  serve(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  requests(): RequestTracker[];
  count(): number;
  close(): Promise<void>;
}

export function createStatelessRequests(gateway: Gateway, logger: Logger): StatelessRequests {
  const live = new Map<StreamableHTTPServerTransport, RequestTracker>();
  return {
    async serve(req, res, body) {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = createServer(gateway, logger);
      await server.connect(transport);
      live.set(transport, trackRequests(transport, logger));
      res.once("close", () => {
        live.delete(transport);
        server
          .close()
          .catch((error: unknown) => logger.debug(`closing a stateless request: ${errorMessage(error)}`));
      });
      await transport.handleRequest(req, res, body);
    },
    requests: () => [...live.values()],
    count: () => live.size,
    async close() {
      await Promise.all([...live.keys()].map((transport) => transport.close().catch(() => {})));
      live.clear();
    },
  };
}
