import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import MiniSearch from "minisearch";
import { z } from "zod";
import { createCatalog } from "../../src/catalog/catalog.js";
import { type ToolRecord, toToolRecord } from "../../src/catalog/tool-record.js";
import { readRegistry, selectServers, toTool } from "../../test/fixtures/registry-server.js";
import { loadTasks } from "../quality.js";
import { type BenchContext, compare, type Row, type RowGroup } from "../report.js";
import { heapUsed, median, percentile } from "../stats.js";

/** One side of the comparison: builds an index over some servers' records, then answers a query. */
export interface Engine {
  name: string;
  build(servers: Array<{ name: string; records: ToolRecord[] }>): (query: string) => unknown;
}

/** Skillsmith's catalog, filled the way the gateway fills it: one `setServerTools` per server. */
export const skillsmithEngine: Engine = {
  name: "skillsmith",
  build(servers) {
    const catalog = createCatalog(servers.map((s) => s.name));
    for (const s of servers) catalog.setServerTools(s.name, s.records);
    // The index is completed on first use (minisearch's part built in one pass): counted in the build.
    catalog.search({ query: "", limit: 1 });
    return (query) => catalog.search({ query, limit: 10 });
  },
};

/** Plain BM25: minisearch with its default tokenizer and options, fields name + description. */
export const plainEngine: Engine = {
  name: "plain minisearch",
  build(servers) {
    const index = new MiniSearch({ fields: ["name", "description"] });
    for (const s of servers) {
      index.addAll(s.records.map((r) => ({ id: r.name, name: r.tool, description: r.description })));
    }
    return (query) => index.search(query).slice(0, 10);
  },
};

export interface SpeedFigures {
  buildMs: number;
  p50Ms: number;
  p99Ms: number;
  /** The first pass over the queries alone, right after the build: nothing cached yet. */
  coldP50Ms: number;
  coldP99Ms: number;
  heapBytes: number;
}

/**
 * Median time of `builds` builds (the last one measured for heap too), and per-query latencies over `passes` passes:
 * the first pass alone (cold: nothing cached since the build) and the others.
 * Run it once on a small input first, so compilation is not measured.
 */
export function measureSpeed(
  engine: Engine,
  servers: Array<{ name: string; records: ToolRecord[] }>,
  queries: string[],
  { builds, passes }: { builds: number; passes: number },
): SpeedFigures {
  const buildTimes: number[] = [];
  for (let i = 1; i < builds; i++) {
    const started = performance.now();
    engine.build(servers);
    buildTimes.push(performance.now() - started);
  }
  const before = heapUsed();
  const started = performance.now();
  const search = engine.build(servers);
  buildTimes.push(performance.now() - started);
  const heapBytes = heapUsed() - before;
  const latencies: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    for (const q of queries) {
      const started = performance.now();
      search(q);
      latencies.push(performance.now() - started);
    }
  }
  // The first pass finds nothing cached; the others are what a gateway that has answered a while sees.
  const cold = latencies.slice(0, queries.length);
  const warm = passes > 1 ? latencies.slice(queries.length) : latencies;
  return {
    buildMs: median(buildTimes),
    p50Ms: percentile(warm, 50),
    p99Ms: percentile(warm, 99),
    coldP50Ms: percentile(cold, 50),
    coldP99Ms: percentile(cold, 99),
    heapBytes,
  };
}

/** `limit` registry tools as gateway records, grouped by (copied) server. */
export function registryRecords(limit: number): Array<{ name: string; records: ToolRecord[] }> {
  return selectServers(readRegistry(), { limit }).map((s) => ({
    name: s.name,
    records: s.rows.map((row) => toToolRecord(s.name, toTool(row) as Tool)),
  }));
}

/** The development questions and their steps: long multi-intent questions and short single needs. */
async function benchQueries(): Promise<string[]> {
  return (await loadTasks()).flatMap((t) => [t.query, ...(t.steps ?? [])]);
}

const ENGINES = { skillsmith: skillsmithEngine, plain: plainEngine };
type EngineName = keyof typeof ENGINES;

const figuresSchema = z.object({
  buildMs: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  coldP50Ms: z.number(),
  coldP99Ms: z.number(),
  heapBytes: z.number(),
});

/**
 * One engine at one size, in a fresh process (`bench/rows/search-speed.ts <engine> <limit> <builds> <passes>`),
 * so neither the other engine's leftovers nor the rest of the bench weigh on its heap and timings.
 */
async function measureInChild(
  context: BenchContext,
  engine: EngineName,
  limit: number,
  settings: { builds: number; passes: number },
): Promise<SpeedFigures> {
  const script = fileURLToPath(import.meta.url);
  const args = [engine, limit, settings.builds, settings.passes].map(String);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--expose-gc", "--import", "tsx", script, ...args],
    { cwd: context.root, maxBuffer: 1 << 20 },
  );
  return figuresSchema.parse(JSON.parse(stdout));
}

/** What the child process measures: a warm-up (which also loads any lazy module state), then `limit` tools. */
async function measureOne(
  engine: Engine,
  limit: number,
  settings: { builds: number; passes: number },
): Promise<SpeedFigures> {
  const queries = await benchQueries();
  measureSpeed(engine, registryRecords(200), queries, { builds: 1, passes: 1 });
  return measureSpeed(engine, registryRecords(limit), queries, settings);
}

export const searchSpeed: RowGroup = {
  name: "search-speed",
  async run(context: BenchContext) {
    const queries = (await benchQueries()).length;
    const settings = context.quick ? { builds: 1, passes: 1 } : { builds: 5, passes: 5 };
    const rows: Row[] = [];
    for (const limit of [1_000, 10_000]) {
      const s = await measureInChild(context, "skillsmith", limit, settings);
      const b = await measureInChild(context, "plain", limit, settings);
      const at = `${limit.toLocaleString("en-US")} tools`;
      const group = "2 Search speed";
      const queriesNote = `${queries} queries × ${settings.passes}, the first pass left out (see the next rows)`;
      rows.push(
        compare(
          group,
          `index build, ${at}`,
          s.buildMs,
          b.buildMs,
          "ms",
          "lower is better; baseline = plain minisearch",
        ),
        compare(group, `search p50, ${at}`, s.p50Ms, b.p50Ms, "ms", `lower is better; ${queriesNote}`),
        compare(group, `search p99, ${at}`, s.p99Ms, b.p99Ms, "ms", `lower is better; ${queriesNote}`),
        compare(
          group,
          `search p50, ${at}, first pass only`,
          s.coldP50Ms,
          b.coldP50Ms,
          "ms",
          `lower is better; ${queries} queries once, right after the build: no term's scores cached yet`,
        ),
        compare(
          group,
          `search p99, ${at}, first pass only`,
          s.coldP99Ms,
          b.coldP99Ms,
          "ms",
          `lower is better; ${queries} queries once, right after the build`,
        ),
        compare(
          group,
          `heap used, ${at}`,
          s.heapBytes,
          b.heapBytes,
          "MB",
          "lower is better; index held after GC",
        ),
      );
      context.log(`search speed: ${limit} tools done`);
    }
    return rows;
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [engine = "", limit = "1000", builds = "1", passes = "1"] = process.argv.slice(2);
  if (!(engine in ENGINES)) throw new Error(`engine must be one of ${Object.keys(ENGINES).join(", ")}`);
  const figures = await measureOne(ENGINES[engine as EngineName], Number(limit), {
    builds: Number(builds),
    passes: Number(passes),
  });
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
