import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { z } from "zod";
import { gatewayConfig, openGateway } from "../clients.js";
import { startHttpFixture } from "../fixtures.js";
import {
  baselineRanker,
  buildCatalog,
  type DataTask,
  evaluate,
  floodCheck,
  learningSplitHalf,
  loadTasks,
  loadTools,
  measureQuality,
  type QueryScore,
  splitHalf,
} from "../quality.js";
import { type BenchContext, compare, formatRatio, type RowGroup } from "../report.js";

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
    const halves = await splitHalf();
    const learning = await learningSplitHalf();
    const flood = await floodCheck();
    const empty = await emptyAnswers(tasks);
    return [
      ...halves.map((h) => {
        const held = h.tunedOn === "A" ? "B" : "A";
        return compare(
          group,
          `nDCG@10, held-out half ${held} (${tasks.length} dev queries split even/odd), weights tuned on ${h.tunedOn}`,
          h.heldOut,
          h.baselineHeldOut,
          "score",
          `higher is better; baseline = plain minisearch on ${held}; chosen serverBlend ${h.chosen.serverBlend}, nameCoverage ${h.chosen.nameCoverage}, idfPower ${h.chosen.idfPower}; on ${h.tunedOn} itself ${h.tuned.toFixed(3)}; shipped defaults on ${held} ${h.shippedHeldOut.toFixed(3)}; target ≥ 0.50`,
        );
      }),
      ...learning.map((l) =>
        compare(
          group,
          `nDCG@10 on half ${l.scored} after learning from half ${l.traffic} replayed as traffic`,
          l.with.ndcg10,
          l.without.ndcg10,
          "score",
          `higher is better; baseline = the same catalog before the traffic; traffic: each query of ${l.traffic} searched in a session, then a probe of each gold tool; recall@10 ${l.without.recall10.toFixed(3)} → ${l.with.recall10.toFixed(3)}`,
        ),
      ),
      {
        group,
        measure: `flood: one query ×${flood.floods} credited to an unrelated tool; other dev queries whose top 10 changed`,
        skillsmith: `${flood.unrelatedChanged} of ${flood.unrelated} sharing no word; ${flood.changed} of ${flood.others} in all`,
        baseline: `nDCG@10 of the others ${flood.ndcgBefore.toFixed(3)}`,
        ratio: formatRatio(flood.ndcgAfter, flood.ndcgBefore),
        note: `after the flood nDCG@10 ${flood.ndcgAfter.toFixed(3)}; a tool's learned words saturate (strength ≤ 1) and weigh at most the server's share`,
      },
      {
        group,
        measure: `dev queries with a gold tool in the catalog that get no result`,
        skillsmith: String(empty.skillsmith),
        baseline: String(empty.baseline),
        ratio: "n/a",
        note: `of ${empty.of}; baseline = plain minisearch; lower is better`,
      },
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

/** Development queries whose gold tools are in the catalog, and how many of them each ranking answers with nothing. */
async function emptyAnswers(
  tasks: DataTask[],
): Promise<{ skillsmith: number; baseline: number; of: number }> {
  const tools = await loadTools();
  const names = new Set(tools.map((t) => t.name));
  const answerable = tasks.filter((t) => t.gold.some((g) => names.has(g)));
  const catalog = buildCatalog(tools);
  const baseline = baselineRanker(tools);
  return {
    skillsmith: answerable.filter((t) => catalog.search({ query: t.query, limit: 1 }).hits.length === 0)
      .length,
    baseline: answerable.filter((t) => baseline(t.query).length === 0).length,
    of: answerable.length,
  };
}
