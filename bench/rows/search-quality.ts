import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { z } from "zod";
import { gatewayConfig, openGateway } from "../clients.js";
import { startHttpFixture } from "../fixtures.js";
import {
  baselineRanker,
  type DataTask,
  evaluate,
  loadTasks,
  loadTools,
  measureQuality,
  type QueryScore,
} from "../quality.js";
import { type BenchContext, compare, type RowGroup } from "../report.js";

/** search_tools answers with at most 50 results; enough to fill 10 distinct tool names. */
const SEARCH_LIMIT = 50;

const answerSchema = z.object({
  results: z.array(z.object({ name: z.string(), server: z.string(), kind: z.string() })),
});

/** Tool names (without server) that search_tools returns for a query, best first. */
export async function searchToolNames(client: Client, query: string): Promise<string[]> {
  const result = await client.callTool({
    name: "search_tools",
    arguments: { query, limit: SEARCH_LIMIT, detail: "name" },
  });
  if (result.isError)
    throw new Error(`search_tools failed for "${query}": ${JSON.stringify(result.content)}`);
  const { results } = answerSchema.parse(result.structuredContent);
  return results.filter((r) => r.kind === "tool").map((r) => r.name.slice(r.server.length + 1));
}

export interface GatewayQuality {
  skillsmith: QueryScore;
  baseline: QueryScore;
  /** Tools the gateway's catalog held, and servers the fixture served. */
  tools: number;
  servers: number;
}

/**
 * The queries sent as search_tools to a gateway fronting the registry's 70 fixture servers, scored with
 * bench/quality.ts's definitions (dedupe by tool name, binary relevance); the baseline is its plain BM25.
 */
export async function measureGatewayQuality(
  context: BenchContext,
  tasks: DataTask[],
): Promise<GatewayQuality> {
  const fixture = await startHttpFixture(context.root, []);
  try {
    const dir = await mkdtemp(path.join(context.tmp, "quality-"));
    const open = await openGateway(gatewayConfig(fixture.entries(), dir), dir);
    try {
      const rankings = new Map<string, string[]>();
      for (const task of tasks) rankings.set(task.query, await searchToolNames(open.client, task.query));
      return {
        skillsmith: evaluate((query) => rankings.get(query) ?? [], tasks),
        baseline: evaluate(baselineRanker(await loadTools()), tasks),
        tools: open.gateway.catalog.tools().length,
        servers: fixture.servers.length,
      };
    } finally {
      await open.close();
    }
  } finally {
    await fixture.stop();
  }
}

export const searchQuality: RowGroup = {
  name: "search-quality",
  async run(context) {
    const tasks = await loadTasks();
    const q = await measureGatewayQuality(context, tasks);
    // The same ranking computed in-process by bench/quality.ts: the two should agree.
    const inProcess = (await measureQuality()).skillsmith;
    const over = `${tasks.length} dev queries, ${q.tools} tools / ${q.servers} servers, via search_tools`;
    const group = "3 Search quality";
    const note = (pick: (s: QueryScore) => number, target = "") =>
      `higher is better; baseline = plain minisearch${target}; in-process catalog: ${pick(inProcess).toFixed(3)}`;
    return [
      compare(
        group,
        `nDCG@10, ${over}`,
        q.skillsmith.ndcg10,
        q.baseline.ndcg10,
        "score",
        note((s) => s.ndcg10, "; target ≥ 0.45"),
      ),
      compare(
        group,
        `recall@5, ${over}`,
        q.skillsmith.recall5,
        q.baseline.recall5,
        "score",
        note((s) => s.recall5),
      ),
      compare(
        group,
        `recall@10, ${over}`,
        q.skillsmith.recall10,
        q.baseline.recall10,
        "score",
        note((s) => s.recall10),
      ),
    ];
  },
};
