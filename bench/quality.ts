/**
 * Search quality on LiveMCPBench: Skillsmith's ranking vs a plain BM25 baseline, over the same tools.
 *
 * Metric (as bench/data/README.md defines it): task-level retrieval with the task's `query`;
 * binary relevance, relevant = every tool name in `gold`; a gold name matches any server's tool of that
 * name, so a ranking of `server.tool` hits is turned into a list of tool names, deduplicated (first
 * occurrence kept), before it is cut at k. nDCG@10 uses the ideal ranking of min(|gold|, 10) relevant
 * names; recall@k = |gold ∩ top k| / |gold|. Figures are the mean over the queries.
 *
 * Skillsmith's side builds the catalog in-process (createCatalog + toToolRecord, one setServerTools per
 * server, server names as in the data) and ranks with catalog.search({query, limit: 50}) — the same
 * ranking code that search_tools runs behind the gateway.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import MiniSearch from "minisearch";
import { type Catalog, createCatalog, toolEntry } from "../src/catalog/catalog.js";
import { createSearchIndex, DEFAULT_RANKING, type RankingOptions } from "../src/catalog/search-index.js";
import { terms } from "../src/catalog/tokenizer.js";
import { toToolRecord } from "../src/catalog/tool-record.js";
import { silentLogger } from "../src/logger.js";
import { createLearning } from "../src/search/learning.js";
import { createStateStore } from "../src/store/state-store.js";

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DATA_DIR = resolve(here, "data");
export const DEFAULT_REGISTRY_FILE = resolve(DEFAULT_DATA_DIR, "livemcptool-tools.json");
export const DEFAULT_QUERIES_FILE = resolve(DEFAULT_DATA_DIR, "livemcpbench-dev.json");

export interface DataTool {
  server: string;
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

export interface DataTask {
  id: string;
  category?: string;
  query: string;
  steps?: string[];
  gold: string[];
}

export interface QueryScore {
  ndcg10: number;
  recall5: number;
  recall10: number;
}

export interface PerQuery extends QueryScore {
  id: string;
  query: string;
  gold: string[];
  /** The deduplicated tool names ranked first (up to 10). */
  top: string[];
}

export interface QualityReport {
  tools: number;
  servers: number;
  queries: number;
  /** Means over the queries. */
  skillsmith: QueryScore;
  baseline: QueryScore;
  /** Each query's figures and top 10, in the file's order (for an ablation or a look at failures). */
  perQuery: { skillsmith: PerQuery[]; baseline: PerQuery[] };
  /** Skillsmith / baseline for each metric. */
  ratio: QueryScore;
  /** Milliseconds to build Skillsmith's catalog over the tools. */
  buildMs: number;
}

export type Ranker = (query: string) => string[];

export async function loadTools(file = DEFAULT_REGISTRY_FILE): Promise<DataTool[]> {
  const data = JSON.parse(await readFile(file, "utf8")) as { tools: DataTool[] };
  return data.tools;
}

export async function loadTasks(file = DEFAULT_QUERIES_FILE): Promise<DataTask[]> {
  const data = JSON.parse(await readFile(file, "utf8")) as { tasks: DataTask[] };
  return data.tasks;
}

/** Tool names in rank order, each kept at its first occurrence. */
export function dedupe(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** nDCG@10, recall@5 and recall@10 of one ranking of tool names (already deduplicated). */
export function scoreRanking(ranking: readonly string[], gold: readonly string[]): QueryScore {
  const relevant = new Set(gold);
  const recallAt = (k: number) => {
    if (relevant.size === 0) return 0;
    let found = 0;
    for (const name of ranking.slice(0, k)) if (relevant.has(name)) found++;
    return found / relevant.size;
  };
  let dcg = 0;
  ranking.slice(0, 10).forEach((name, i) => {
    if (relevant.has(name)) dcg += 1 / Math.log2(i + 2);
  });
  let idcg = 0;
  for (let i = 0; i < Math.min(relevant.size, 10); i++) idcg += 1 / Math.log2(i + 2);
  return { ndcg10: idcg === 0 ? 0 : dcg / idcg, recall5: recallAt(5), recall10: recallAt(10) };
}

/** Each query's nDCG@10, recall@5 and recall@10 under a ranker. */
export function evaluatePerQuery(rank: Ranker, tasks: readonly DataTask[]): PerQuery[] {
  return tasks.map((task): PerQuery => {
    const ranking = dedupe(rank(task.query));
    return {
      id: task.id,
      query: task.query,
      gold: task.gold,
      top: ranking.slice(0, 10),
      ...scoreRanking(ranking, task.gold),
    };
  });
}

/** The mean nDCG@10, recall@5 and recall@10 of a ranker over the queries. */
export function evaluate(rank: Ranker, tasks: readonly DataTask[]): QueryScore {
  return mean(evaluatePerQuery(rank, tasks));
}

export function mean(scores: readonly QueryScore[]): QueryScore {
  const n = Math.max(1, scores.length);
  const sum = (pick: (s: QueryScore) => number) => scores.reduce((acc, s) => acc + pick(s), 0) / n;
  return { ndcg10: sum((s) => s.ndcg10), recall5: sum((s) => s.recall5), recall10: sum((s) => s.recall10) };
}

function asTool(row: DataTool): Tool {
  return {
    name: row.name,
    description: row.description ?? "",
    inputSchema: (row.inputSchema ?? { type: "object" }) as Tool["inputSchema"],
  };
}

/** The real catalog over the registry, built one server at a time, as the gateway builds it. */
export function buildCatalog(tools: readonly DataTool[], ranking?: RankingOptions): Catalog {
  const byServer = new Map<string, DataTool[]>();
  for (const t of tools) byServer.set(t.server, [...(byServer.get(t.server) ?? []), t]);
  const catalog = createCatalog([...byServer.keys()], ranking);
  for (const [server, rows] of byServer) {
    catalog.setServerTools(
      server,
      rows.map((row) => toToolRecord(server, asTool(row))),
    );
  }
  return catalog;
}

const catalogRanker =
  (catalog: Catalog): Ranker =>
  (query) =>
    catalog.search({ query, limit: 50 }).hits.map((hit) => hit.record?.tool ?? hit.entry.tool);

/** Skillsmith's ranking: the real catalog, built one server at a time, as the gateway builds it. */
export function skillsmithRanker(tools: readonly DataTool[]): { rank: Ranker; buildMs: number } {
  const started = performance.now();
  const catalog = buildCatalog(tools);
  catalog.search({ query: "", limit: 1 }); // completes the index, built on first use
  const buildMs = performance.now() - started;
  return { rank: catalogRanker(catalog), buildMs };
}

/**
 * The same ranking as the catalog's, on an index built with explicit options (for the ablation):
 * catalog.search is this index's order, mapped back to records.
 */
export function optionsRanker(tools: readonly DataTool[], options: RankingOptions): Ranker {
  const byServer = new Map<string, DataTool[]>();
  for (const t of tools) byServer.set(t.server, [...(byServer.get(t.server) ?? []), t]);
  const index = createSearchIndex(options);
  for (const [server, rows] of byServer) {
    index.replace(
      server,
      rows.map((row) => toolEntry(toToolRecord(server, asTool(row)))),
    );
  }
  return (query) =>
    index
      .search(query)
      .hits.slice(0, 50)
      .map((r) => r.id.slice(r.id.indexOf(".") + 1));
}

/** The baseline: minisearch with its default tokenizer and options, fields name + description. */
export function baselineRanker(tools: readonly DataTool[]): Ranker {
  const index = new MiniSearch<{ id: string; name: string; description: string }>({
    fields: ["name", "description"],
    storeFields: ["name"],
  });
  index.addAll(
    tools.map((t) => ({ id: `${t.server}.${t.name}`, name: t.name, description: t.description ?? "" })),
  );
  return (query) => index.search(query).map((r) => String(r.name));
}

export async function measureQuality(
  options: { registryFile?: string; queriesFile?: string } = {},
): Promise<QualityReport> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const mine = skillsmithRanker(tools);
  const perQuery = {
    skillsmith: evaluatePerQuery(mine.rank, tasks),
    baseline: evaluatePerQuery(baselineRanker(tools), tasks),
  };
  const skillsmith = mean(perQuery.skillsmith);
  const baseline = mean(perQuery.baseline);
  const ratio = (pick: (s: QueryScore) => number) =>
    pick(baseline) === 0 ? Number.POSITIVE_INFINITY : pick(skillsmith) / pick(baseline);
  return {
    tools: tools.length,
    servers: new Set(tools.map((t) => t.server)).size,
    queries: tasks.length,
    skillsmith,
    baseline,
    perQuery,
    ratio: {
      ndcg10: ratio((s) => s.ndcg10),
      recall5: ratio((s) => s.recall5),
      recall10: ratio((s) => s.recall10),
    },
    buildMs: mine.buildMs,
  };
}

/** The development queries in two fixed halves (file order, alternating), for checks against overfitting. */
export function halves<T>(tasks: readonly T[]): [T[], T[]] {
  return [tasks.filter((_, i) => i % 2 === 0), tasks.filter((_, i) => i % 2 === 1)];
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

export function withOptions(
  overrides: DeepPartial<RankingOptions>,
  base: RankingOptions = DEFAULT_RANKING,
): RankingOptions {
  const merge = (a: unknown, b: unknown): unknown => {
    if (b === null || typeof b !== "object" || Array.isArray(b) || a === null || typeof a !== "object")
      return b;
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b)) out[k] = v === undefined ? out[k] : merge(out[k], v);
    return out;
  };
  return merge(base, overrides) as RankingOptions;
}

export interface AblationRow {
  change: string;
  /** Whether the shipped ranking has this change on. */
  kept: boolean;
  /** nDCG@10 over all queries and each half, with the change and without it (all else as shipped). */
  with: { all: number; a: number; b: number };
  without: { all: number; a: number; b: number };
}

/** Each ranking change, and the options that turn it off (for kept ones) or on (for rejected ones). */
export const CHANGES: Array<{ change: string; kept: boolean; toggle: DeepPartial<RankingOptions> }> = [
  { change: "filler words of requests dropped", kept: true, toggle: { analyze: { filler: false } } },
  { change: "file paths read as file type (mime-db)", kept: true, toggle: { analyze: { paths: false } } },
  { change: "paths the request writes read as write", kept: true, toggle: { analyze: { targets: false } } },
  { change: "place names read as places (WordNet)", kept: true, toggle: { analyze: { places: false } } },
  { change: "Chinese glossed in English (CC-CEDICT)", kept: true, toggle: { analyze: { glosses: false } } },
  { change: "server-then-tool blend", kept: true, toggle: { serverBlend: 0 } },
  { change: "name-coverage bonus", kept: true, toggle: { nameCoverage: 0 } },
  { change: "query terms weighted by IDF", kept: true, toggle: { idfPower: 0 } },
  { change: "abbreviations (deps ⊂ dependencies)", kept: true, toggle: { abbreviations: false } },
  { change: "prefix match for unknown words (fallback pass only)", kept: true, toggle: { prefix: false } },
  {
    change: "name, title, server boosted 1.5",
    kept: false,
    toggle: { boost: { name: 1.5, title: 1.5, description: 1, params: 1, server: 1.5 } },
  },
  { change: "vocabulary bridge (WordNet, trigrams)", kept: true, toggle: { bridge: false } },
];

export async function ablation(
  options: { registryFile?: string; queriesFile?: string } = {},
): Promise<{ shipped: { all: number; a: number; b: number }; rows: AblationRow[] }> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const [a, b] = halves(tasks);
  const score = (ranking: RankingOptions) => {
    const rank = optionsRanker(tools, ranking);
    return { all: evaluate(rank, tasks).ndcg10, a: evaluate(rank, a).ndcg10, b: evaluate(rank, b).ndcg10 };
  };
  const shipped = score(DEFAULT_RANKING);
  const rows = CHANGES.map(({ change, kept, toggle }): AblationRow => {
    const toggled = score(withOptions(toggle));
    return kept
      ? { change, kept, with: shipped, without: toggled }
      : { change, kept, with: toggled, without: shipped };
  });
  return { shipped, rows };
}

/** The query-time weights that are tuned, and the grid a split-half check searches. */
const GRID = {
  serverBlend: [0, 0.5, 1, 1.5, 2],
  nameCoverage: [0, 0.25, 0.5, 1, 1.5],
  idfPower: [0, 0.5, 1],
};

export interface SplitHalfResult {
  tunedOn: "A" | "B";
  chosen: { serverBlend: number; nameCoverage: number; idfPower: number };
  /** nDCG@10 on the half it was tuned on, and on the other half (held out). */
  tuned: number;
  heldOut: number;
  /** The shipped defaults on the held-out half, for comparison. */
  shippedHeldOut: number;
  /** Plain BM25 on the held-out half. */
  baselineHeldOut: number;
}

/** Tunes the weights on one half of the queries and reports the other half, both ways round. */
export async function splitHalf(
  options: { registryFile?: string; queriesFile?: string } = {},
): Promise<SplitHalfResult[]> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const [a, b] = halves(tasks);
  const rankers: Array<{ chosen: SplitHalfResult["chosen"]; rank: Ranker }> = [];
  for (const serverBlend of GRID.serverBlend) {
    for (const nameCoverage of GRID.nameCoverage) {
      for (const idfPower of GRID.idfPower) {
        const chosen = { serverBlend, nameCoverage, idfPower };
        rankers.push({ chosen, rank: optionsRanker(tools, withOptions(chosen)) });
      }
    }
  }
  const shipped = optionsRanker(tools, DEFAULT_RANKING);
  const baseline = baselineRanker(tools);
  return (
    [
      ["A", a, b],
      ["B", b, a],
    ] as const
  ).map(([tunedOn, tune, test]) => {
    let best = rankers[0] as (typeof rankers)[number];
    let bestScore = -1;
    for (const r of rankers) {
      const s = evaluate(r.rank, tune).ndcg10;
      if (s > bestScore + 1e-12) {
        best = r;
        bestScore = s;
      }
    }
    return {
      tunedOn,
      chosen: best.chosen,
      tuned: bestScore,
      heldOut: evaluate(best.rank, test).ndcg10,
      shippedHeldOut: evaluate(shipped, test).ndcg10,
      baselineHeldOut: evaluate(baseline, test).ndcg10,
    };
  });
}

/** The registry scaled to `count` tools by copies of its servers under new names ("github-2", …). */
export function scaledRegistry(tools: readonly DataTool[], count: number): DataTool[] {
  const out: DataTool[] = [];
  for (let copy = 1; out.length < count; copy++) {
    for (const t of tools) {
      if (out.length >= count) break;
      out.push(copy === 1 ? t : { ...t, server: `${t.server}-${copy}` });
    }
  }
  return out;
}

/** Catalog build time and search latency over `count` tools, with the development queries as the load. */
export async function measureSearchSpeed(
  count = 10_000,
  options: { registryFile?: string; queriesFile?: string; passes?: number } = {},
): Promise<{ tools: number; servers: number; buildMs: number; p50Ms: number; p99Ms: number }> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const scaled = scaledRegistry(tools, count);
  const { rank, buildMs } = skillsmithRanker(scaled);
  const queries = tasks.map((t) => t.query);
  for (const q of queries) rank(q);
  const latencies: number[] = [];
  for (let pass = 0; pass < (options.passes ?? 5); pass++) {
    for (const q of queries) {
      const started = performance.now();
      rank(q);
      latencies.push(performance.now() - started);
    }
  }
  latencies.sort((x, y) => x - y);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    tools: scaled.length,
    servers: new Set(scaled.map((t) => t.server)).size,
    buildMs,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/** Replayed traffic happens at one instant, so that decay plays no part and every run ranks the same. */
const BENCH_CLOCK = Date.UTC(2026, 0, 1);

export interface LearningRow {
  /** The half replayed as traffic, and the half scored. */
  traffic: "A" | "B";
  scored: "A" | "B";
  without: QueryScore;
  with: QueryScore;
}

/** The first tool of each gold name (in registry order): what an agent would have probed. */
function goldTools(catalog: Catalog, gold: readonly string[]): string[] {
  return gold.flatMap((name) => catalog.tools().find((t) => t.tool === name)?.name ?? []);
}

/**
 * Learning measured on queries it never saw: one half of the development queries is replayed as traffic
 * (each searched in a session of its own, then a probe of each of its gold tools), and the other half is scored
 * before and after; both ways round. Goes through the gateway's own learning (store "memory:").
 */
export async function learningSplitHalf(
  options: { registryFile?: string; queriesFile?: string; ranking?: RankingOptions } = {},
): Promise<LearningRow[]> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const [a, b] = halves(tasks);
  const rows: LearningRow[] = [];
  for (const [traffic, scored, replay, test] of [
    ["A", "B", a, b],
    ["B", "A", b, a],
  ] as const) {
    const catalog = buildCatalog(tools, options.ranking);
    const without = evaluate(catalogRanker(catalog), test);
    const store = createStateStore("memory:");
    const learning = createLearning({ store, catalog, logger: silentLogger, now: () => BENCH_CLOCK });
    for (const [i, task] of replay.entries()) {
      learning.searched(`traffic-${i}`, task.query);
      await learning.used(`traffic-${i}`, { tools: goldTools(catalog, task.gold) });
    }
    rows.push({ traffic, scored, without, with: evaluate(catalogRanker(catalog), test) });
    learning.close();
    await store.close();
  }
  return rows;
}

export interface FloodResult {
  query: string;
  tools: string[];
  floods: number;
  /** The other queries (sharing no word with the flooded one / all of them) whose top 10 changed. */
  unrelatedChanged: number;
  unrelated: number;
  changed: number;
  others: number;
  ndcgBefore: number;
  ndcgAfter: number;
}

/**
 * The cap: one query replayed `floods` times (each in its own session, then a probe of a tool unrelated to it),
 * then every other development query is searched again. A query that shares no word with the flood must rank
 * exactly as before; the others may move only through the words they share.
 */
export async function floodCheck(
  floods = 1000,
  options: { registryFile?: string; queriesFile?: string } = {},
): Promise<FloodResult> {
  const [tools, tasks] = await Promise.all([loadTools(options.registryFile), loadTasks(options.queriesFile)]);
  const catalog = buildCatalog(tools);
  const rank = catalogRanker(catalog);
  const [flooded, ...others] = tasks as [DataTask, ...DataTask[]];
  // A tool the flooded query has nothing to do with: the last tool of the registry that is not gold anywhere.
  const gold = new Set(tasks.flatMap((t) => t.gold));
  const victim = [...catalog.tools()].reverse().find((t) => !gold.has(t.tool));
  const floodedTools = victim ? [victim.name] : [];
  const before = new Map(others.map((t) => [t.id, dedupe(rank(t.query)).slice(0, 10)]));
  const ndcgBefore = evaluate(rank, others).ndcg10;
  const store = createStateStore("memory:");
  const learning = createLearning({ store, catalog, logger: silentLogger, now: () => BENCH_CLOCK });
  for (let i = 0; i < floods; i++) {
    learning.searched(`flood-${i}`, flooded.query);
    await learning.used(`flood-${i}`, { tools: floodedTools });
  }
  const floodTerms = new Set(terms(flooded.query));
  let changed = 0;
  let unrelated = 0;
  let unrelatedChanged = 0;
  for (const t of others) {
    const moved = JSON.stringify(dedupe(rank(t.query)).slice(0, 10)) !== JSON.stringify(before.get(t.id));
    const shares = terms(t.query).some((term) => floodTerms.has(term));
    if (moved) changed++;
    if (!shares) {
      unrelated++;
      if (moved) unrelatedChanged++;
    }
  }
  const ndcgAfter = evaluate(rank, others).ndcg10;
  learning.close();
  await store.close();
  return {
    query: flooded.query,
    tools: floodedTools,
    floods,
    unrelatedChanged,
    unrelated,
    changed,
    others: others.length,
    ndcgBefore,
    ndcgAfter,
  };
}
