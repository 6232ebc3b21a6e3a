import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage } from "../errors.js";
import type { Gateway } from "../gateway.js";
import { VERSION } from "../version.js";

/** The operator's endpoints beside /mcp. */
export const OPS_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

const startedAt = Date.now();

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

export interface OpsState {
  sessions(): number;
  draining(): boolean;
}

/**
 * GET /healthz: the process is up. GET /readyz: it can serve (the store answers a round trip, it is not shutting
 * down), with each downstream server's state; 503 when not. GET /metrics: Prometheus text.
 */
export async function serveOps(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  gateway: Gateway,
  state: OpsState,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" });
    res.end(JSON.stringify({ error: `${path} takes GET` }));
    return;
  }
  if (path === "/healthz") {
    json(res, 200, {
      status: "ok",
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    });
    return;
  }
  if (path === "/metrics") {
    const text = await gateway.metrics.text();
    res.writeHead(200, { "content-type": gateway.metrics.contentType, "cache-control": "no-store" });
    res.end(text);
    return;
  }
  const started = performance.now();
  const store = await gateway.store.ping().then(
    () => ({ url: gateway.store.url, reachable: true, ms: Math.round(performance.now() - started) }),
    (error: unknown) => ({ url: gateway.store.url, reachable: false, error: errorMessage(error) }),
  );
  const draining = state.draining();
  const ready = store.reachable && !draining;
  json(res, ready ? 200 : 503, {
    ready,
    ...(draining && { reason: "shutting down" }),
    ...(!store.reachable && { reason: `the store ${gateway.store.url} does not answer` }),
    store,
    servers: gateway.status().map((s) => ({
      name: s.name,
      state: s.state,
      tools: s.toolCount,
      ...(s.error && { error: s.error }),
    })),
    skills: gateway.skills.list().length,
    sessions: state.sessions(),
  });
}
