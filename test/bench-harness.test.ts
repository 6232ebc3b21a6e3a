import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDirect, listAllTools } from "../bench/clients.js";
import { startHttpFixture, stdioFixture } from "../bench/fixtures.js";
import { runLoad } from "../bench/load/driver.js";
import { startEverythingHttp } from "../bench/load/services.js";
import { dedupe, evaluate, loadTasks, loadTools, scoreRanking, skillsmithRanker } from "../bench/quality.js";
import { formatRatio, markdownTable, spliceLoadSection } from "../bench/report.js";
import { measureGatewayQuality } from "../bench/rows/search-quality.js";
import { measureSurface } from "../bench/rows/surface.js";
import { percentile } from "../bench/stats.js";
import { readRegistry, selectServers } from "./fixtures/registry-server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "skillsmith-bench-test-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("retrieval metrics (bench/quality.ts)", () => {
  it("scores a perfect, a shifted and an empty ranking", () => {
    expect(scoreRanking(["a", "b", "c"], ["a", "b"]).ndcg10).toBe(1);
    expect(scoreRanking(["x", "a"], ["a"]).ndcg10).toBeCloseTo(1 / Math.log2(3));
    expect(scoreRanking([], ["a"])).toEqual({ ndcg10: 0, recall5: 0, recall10: 0 });
    const late = ["a", "x1", "x2", "x3", "x4", "b"];
    expect(scoreRanking(late, ["a", "b"])).toMatchObject({ recall5: 0.5, recall10: 1 });
  });

  it("drops repeated tool names before cutting at k, and averages over queries", () => {
    expect(dedupe(["a", "a", "b", "a"])).toEqual(["a", "b"]);
    const tasks = [
      { id: "1", query: "one", gold: ["b"] },
      { id: "2", query: "two", gold: ["z"] },
    ];
    const rankings: Record<string, string[]> = { one: ["a", "a", "b"], two: ["a"] };
    const quality = evaluate((query) => rankings[query] ?? [], tasks);
    expect(quality.ndcg10).toBeCloseTo(1 / Math.log2(3) / 2);
    expect(quality.recall5).toBe(0.5);
  });
});

describe("report helpers", () => {
  it("takes percentiles by nearest rank and formats ratios", () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(formatRatio(1, 4)).toBe("0.25×");
    expect(formatRatio(1, 0)).toBe("n/a");
    const table = markdownTable([
      { group: "1", measure: "m", skillsmith: "1", baseline: "4", ratio: "0.25×", note: "a | b" },
    ]);
    expect(table.split("\n")).toHaveLength(3);
    expect(table).toContain("a \\| b");
  });
});

describe("results file", () => {
  const load = (n: number) => `<!-- keep: load -->\nload table ${n}\n<!-- /keep: load -->`;
  const byHand = "<!-- keep: before-after -->\nwritten by hand\n<!-- /keep: before-after -->";

  it("keeps the load section and hand-written sections through a full run, and a load run replaces only its own", () => {
    const first = spliceLoadSection("# results\nrows 1", "", load(1));
    expect(first).toContain("load table 1");
    const edited = `${first}\n${byHand}\n`;
    const full = spliceLoadSection("# results\nrows 2", edited);
    expect(full).toContain("rows 2");
    expect(full).not.toContain("rows 1");
    expect(full).toContain("load table 1");
    expect(full).toContain("written by hand");
    const reloaded = spliceLoadSection(full, full, load(2));
    expect(reloaded).toContain("load table 2");
    expect(reloaded).not.toContain("load table 1");
    expect(reloaded).toContain("rows 2");
    expect(reloaded.match(/written by hand/g)).toHaveLength(1);
  });
});

describe("load driver", () => {
  it("drives concurrent HTTP sessions against a URL, counting calls, latencies and errors by operation", async () => {
    const everything = await startEverythingHttp(root);
    try {
      const result = await runLoad({
        url: everything.url,
        sessions: 3,
        seconds: 30,
        maxCalls: 30,
        operations: [
          { name: "echo", call: (c, i) => c.callTool({ name: "echo", arguments: { message: `m${i}` } }) },
          { name: "unknown", call: (c) => c.callTool({ name: "no-such-tool", arguments: {} }) },
        ],
      });
      expect(result.calls).toBe(30);
      const echo = result.byOperation.get("echo")?.calls ?? 0;
      const unknown = result.byOperation.get("unknown")?.calls ?? 0;
      expect(echo).toBeGreaterThan(0);
      expect(echo + unknown).toBe(30);
      // Every call of the unknown tool fails, and is counted as an error with its message; no echo does.
      expect(result.errors).toBe(unknown);
      expect(result.errorSamples[0]).toMatch(/^unknown: .*no-such-tool/);
    } finally {
      await everything.stop();
    }
  });
});

describe("registry fixture", () => {
  it("scales the registry by copies under new, valid server names", () => {
    const servers = selectServers(readRegistry(), { limit: 1000 });
    const names = servers.map((s) => s.name);
    expect(servers.reduce((n, s) => n + s.rows.length, 0)).toBe(1000);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(names).toContain("Ant_Design_Components-2");
  });

  it("serves one server over stdio, and its tools answer calls", async () => {
    const client = await connectDirect(stdioFixture(root, ["--servers", "weather"]));
    try {
      const tools = await listAllTools(client);
      expect(tools.map((t) => t.name)).toEqual(["get_weather", "get_weather_by_city"]);
      const result = await client.callTool({ name: "get_weather_by_city", arguments: { city: "Oslo" } });
      expect(result.content).toEqual([
        {
          type: "text",
          text: JSON.stringify({
            ok: true,
            tool: "weather.get_weather_by_city",
            arguments: { city: "Oslo" },
          }),
        },
      ]);
    } finally {
      await client.close();
    }
  });
});

describe("bench rows on a tiny input", () => {
  it("measures the surface over 20 registry tools through a gateway", async () => {
    const fixture = await startHttpFixture(root, ["--limit", "20"]);
    try {
      const figures = await measureSurface(fixture.entries(), tmp);
      expect(figures.downstreamTools).toBe(20);
      expect(figures.catalogTools).toBe(20);
      // Four meta-tools already weigh less than 20 real definitions; the ratio only falls as tools are added.
      const ratio = figures.skillsmith / figures.downstream;
      expect(ratio).toBeGreaterThan(0.05);
      expect(ratio).toBeLessThan(1);
    } finally {
      await fixture.stop();
    }
  });

  it("measures through search_tools the figures of the in-process ranking, above the plain BM25 baseline", async () => {
    const tasks = (await loadTasks()).slice(0, 5);
    const q = await measureGatewayQuality({ quick: true, root, tmp, log: () => {} }, tasks);
    expect(q.tools).toBe(527);
    expect(q.servers).toBe(70);
    // The gateway ranks with the catalog's code: a harness that loses or mangles results scores differently.
    const tools = await loadTools();
    expect(q.skillsmith).toEqual(evaluate(skillsmithRanker(tools).rank, tasks));
    expect(q.skillsmith.ndcg10).toBeGreaterThan(q.baseline.ndcg10);
  });
});
