import { mkdtemp, readdir } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { z } from "zod";
import { connectDirect, gatewayConfig, listAllTools, spawnGateway, writeConfig } from "../clients.js";
import { realServers, type ServerEntry, stdioFixture } from "../fixtures.js";
import { type BenchContext, compare, type Row, type RowGroup } from "../report.js";
import { median, sleep } from "../stats.js";

const SLOW_START_MS = 5_000;

/** A query per server that matches one of its tools, to tell when the gateway can find that server's tools. */
const PROBES: Record<string, string> = {
  files: "read file",
  memory: "create entities",
  everything: "echo",
  slow: "weather",
};

async function servers(context: BenchContext, dir: string): Promise<Record<string, ServerEntry>> {
  return {
    ...(await realServers(dir)),
    slow: stdioFixture(context.root, ["--servers", "weather", "--delay-ms", String(SLOW_START_MS)]),
  };
}

const answerSchema = z.object({ results: z.array(z.object({ server: z.string() })) });

/** Asks search_tools, server by server, until each of them has answered with at least one tool. */
async function untilAllFound(client: Client, names: string[], timeoutMs = 60_000): Promise<void> {
  const pending = new Set(names);
  const deadline = performance.now() + timeoutMs;
  while (pending.size > 0) {
    for (const server of [...pending]) {
      const result = await client.callTool({
        name: "search_tools",
        arguments: { query: PROBES[server] ?? server, server, limit: 1, detail: "name" },
      });
      const found = !result.isError && answerSchema.parse(result.structuredContent).results.length > 0;
      if (found) pending.delete(server);
    }
    if (pending.size === 0) return;
    if (performance.now() > deadline)
      throw new Error(`search never found tools of ${[...pending].join(", ")}`);
    await sleep(10);
  }
}

/** From spawning the built gateway to the first search answers covering every server. */
async function gatewayFirstAnswer(context: BenchContext, dir: string): Promise<number> {
  const entries = await servers(context, dir);
  const configFile = await writeConfig(dir, gatewayConfig(entries, dir));
  const started = performance.now();
  const client = await spawnGateway(context.root, configFile);
  try {
    await untilAllFound(client, Object.keys(entries));
    return performance.now() - started;
  } finally {
    // Closing stdin ends the gateway, which first finishes writing the snapshots it learnt.
    await client.close();
  }
}

/** Direct SDK clients connecting to every server and listing their tools, all at once. */
async function directAllListed(context: BenchContext, dir: string): Promise<number> {
  const entries = await servers(context, dir);
  const started = performance.now();
  const clients = await Promise.all(
    Object.values(entries).map(async (entry) => {
      const client = await connectDirect(entry);
      await listAllTools(client);
      return client;
    }),
  );
  const ms = performance.now() - started;
  await Promise.all(clients.map((c) => c.close()));
  return ms;
}

export const startup: RowGroup = {
  name: "startup",
  async run(context: BenchContext) {
    const rounds = context.quick ? 1 : 3;
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let snapshotsSeen = Number.POSITIVE_INFINITY;
    // Let tsx compile the fixture once, so the first measured round does not pay for it.
    const compiled = await connectDirect(stdioFixture(context.root, ["--servers", "weather"]));
    await compiled.close();
    for (let round = 0; round < rounds; round++) {
      direct.push(await directAllListed(context, await mkdtemp(path.join(context.tmp, "startup-direct-"))));
      // The same directory twice: the first run starts with no snapshots and writes them; the second uses them.
      const dir = await mkdtemp(path.join(context.tmp, "startup-gateway-"));
      cold.push(await gatewayFirstAnswer(context, dir));
      const snapshots = (await readdir(path.join(dir, "registry")).catch(() => [])).filter((f) =>
        f.endsWith(".json"),
      );
      snapshotsSeen = Math.min(snapshotsSeen, snapshots.length);
      warm.push(await gatewayFirstAnswer(context, dir));
      context.log(`startup: round ${round + 1} of ${rounds} done`);
    }
    const group = "6 Startup";
    const what = `3 real servers + 1 fixture with a ${SLOW_START_MS / 1000} s start`;
    const note = `lower is better; median of ${rounds}; baseline = direct clients connect + list all 4`;
    const missingSnapshots = snapshotsSeen < 4 ? ` (only ${snapshotsSeen} of 4 snapshots were written)` : "";
    const rows: Row[] = [
      compare(
        group,
        `first search answer, with snapshots, ${what}`,
        median(warm),
        median(direct),
        "ms",
        `${note}${missingSnapshots}`,
      ),
      compare(group, `first search answer, no snapshots, ${what}`, median(cold), median(direct), "ms", note),
    ];
    return rows;
  },
};
