import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import { parseConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";
import { realServers } from "../fixtures.js";
import { type BenchContext, compare, type RowGroup } from "../report.js";
import { heapUsed, sleep } from "../stats.js";

/**
 * What is left behind: the heap after many runs, and after many HTTP sessions that were opened and abandoned
 * (never closed by their client, reclaimed by the idle expiry), each against the heap before them.
 */
const GROUP = "8 Durability";
const ECHO = `export default async (input, { call, step }) => step("echo", () => call("everything.echo", input));`;
const MB = 1024 * 1024;

async function runs(gateway: Gateway, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const run = await gateway.skills.run({ code: ECHO, input: { message: `run ${i}` } });
    if (run.status !== "ok") throw new Error(`run ${i} failed: ${run.error}`);
  }
}

/** Opens a session with a bare initialize, as a client that then vanishes would; returns its id. */
async function abandonedSession(url: string): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "gone", version: "0" } },
    }),
  });
  await response.text();
  const id = response.headers.get("mcp-session-id");
  if (!id) throw new Error(`no session id (HTTP ${response.status})`);
  return id;
}

/** Sessions expire in the order they went idle: once the last one answers 404, all have been reclaimed. */
async function expired(url: string, last: string): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const probe = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": last } });
    if (probe.status === 404) return;
    await sleep(200);
  }
  throw new Error("the sessions did not expire within 20 s");
}

export const durability: RowGroup = {
  name: "durability",
  async run(context: BenchContext) {
    const runCount = context.quick ? 1000 : 5000;
    const sessionCount = context.quick ? 100 : 500;
    const dir = await mkdtemp(path.join(context.tmp, "durability-"));
    const { everything } = await realServers(dir);
    const config = parseConfig(
      {
        mcpServers: { everything },
        skillsmith: { store: `file:${path.join(dir, "state")}`, http: { sessionIdleMs: 1000 } },
      },
      { baseDir: dir },
    );
    const gateway = createGateway({ config, logger: silentLogger });
    await gateway.start();
    await gateway.settled();
    const http = await startHttpServer(
      gateway,
      { host: "127.0.0.1", port: 0, limits: config.http },
      silentLogger,
    );
    try {
      // Warm-up first: the first runs fill caches and bounded LRUs (finished runs, compiled code) once.
      await runs(gateway, 1000);
      const beforeRuns = heapUsed();
      await runs(gateway, runCount);
      // Finished records are written in the background; let them land before counting what stays.
      await sleep(500);
      const afterRuns = heapUsed();
      context.log(`durability: ${runCount} runs done`);

      // Likewise the first sessions warm the HTTP stack up; let them expire before counting.
      const warm: string[] = [];
      for (let i = 0; i < 500; i++) warm.push(await abandonedSession(http.url));
      await expired(http.url, warm[warm.length - 1] ?? "");
      const beforeSessions = heapUsed();
      const ids: string[] = [];
      for (let i = 0; i < sessionCount; i++) ids.push(await abandonedSession(http.url));
      await expired(http.url, ids[ids.length - 1] ?? "");
      const afterSessions = heapUsed();
      return [
        compare(
          GROUP,
          `heap after ${runCount} runs (ad hoc, one call each)`,
          afterRuns,
          beforeRuns,
          "MB",
          `baseline = heap before them (after 1,000 warm-up runs); +${((afterRuns - beforeRuns) / MB).toFixed(1)} MB`,
        ),
        compare(
          GROUP,
          `heap after ${sessionCount} abandoned HTTP sessions expired`,
          afterSessions,
          beforeSessions,
          "MB",
          `baseline = heap before them (after 500 warm-up sessions); sessionIdleMs 1000; +${((afterSessions - beforeSessions) / MB).toFixed(1)} MB`,
        ),
      ];
    } finally {
      await http.close();
      await gateway.close();
    }
  },
};
