import { copyFile, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RANKING } from "../../src/catalog/search-index.js";
import type { SearchOutput } from "../../src/gateway.js";
import {
  realServerEntries,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { hasRedis, startRedis } from "../helpers/redis.js";

/**
 * Discovery as an agent meets it, through search_tools over the three real servers: requests in words no tool
 * uses still find tools (marked related), explanations, and learning from what a session then uses.
 */

type Search = { result: CallToolResult; output: SearchOutput; text: string };

async function searchOn(t: TestGateway, args: Record<string, unknown>): Promise<Search> {
  const result = await t.call("search_tools", args);
  expect(result.isError, textOf(result)).toBeFalsy();
  return { result, output: result.structuredContent as unknown as SearchOutput, text: textOf(result) };
}

async function gatewayOn(dir: string, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  return startGateway(
    {
      mcpServers: realServerEntries(dir, path.join(dir, "memory.jsonl")),
      skillsmith: { store: `file:${path.join(dir, "state")}`, skillsDir: path.join(dir, "skills"), ...extra },
    },
    dir,
  );
}

/** A request in words none of the three servers' tools use, nor WordNet relates to them. */
const UNHEARD = "zorbify the quuxes";

describe("discovery over files, memory and everything", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await gatewayOn(dir);
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  it.each([
    ["remember a fact about a person", ["memory.create_entities", "memory.add_observations"]],
    ["show what is inside a folder", ["files.list_directory"]],
  ])("finds tools for %j through related words, and says so", async (query, expected) => {
    const { output, text } = await searchOn(t, { query, limit: 5 });
    const found = output.results.filter((r) => expected.includes(r.name));
    expect(found.length, JSON.stringify(output.results.map((r) => r.name))).toBeGreaterThan(0);
    for (const r of found) expect(r.match).toBe("related");
    expect(output.bridged?.length).toBeGreaterThan(0);
    expect(text).toContain("related words were searched too");
    expect(text).toMatch(/, related, score/);
  });

  it("gives every related word in `bridged`, the five most telling of each in the text", async () => {
    const { output, text } = await searchOn(t, { query: "remember a fact about a person", limit: 5 });
    const fact = output.bridged?.find((b) => b.word === "fact");
    expect(fact?.related.length).toBeGreaterThan(5);
    expect(fact?.related).toContain("observation");
    expect(text).toContain(`"fact" → ${fact?.related.slice(0, 5).join(", ")}, …;`);
  });

  it("marks nothing related when the request's own words match", async () => {
    const { output, text } = await searchOn(t, { query: "write text into a file", limit: 5 });
    expect(output.results[0]?.name).toBe("files.write_file");
    for (const r of output.results) expect(r.match).toBeUndefined();
    expect(output.bridged).toBeUndefined();
    expect(text).not.toContain("related words");
  });

  it("reads a misspelt word as the catalog word spelt like it", async () => {
    const { output } = await searchOn(t, { query: "directroy tree", limit: 3 });
    expect(output.results.map((r) => r.name)).toContain("files.directory_tree");
    expect(output.bridged?.[0]?.word).toBe("directroy");
  });

  it("explains a score on request: its parts, the fields matched, and nothing when not asked", async () => {
    const { output, text } = await searchOn(t, {
      query: "add two numbers together",
      limit: 3,
      explain: true,
    });
    const sum = output.results.find((r) => r.name === "everything.get-sum");
    expect(sum?.explanation?.parts.tool).toBeGreaterThan(0);
    expect(sum?.explanation?.fields.description).toEqual(expect.arrayContaining(["number"]));
    const parts = sum?.explanation?.parts;
    expect(sum?.score).toBeCloseTo((parts?.tool ?? 0) + (parts?.server ?? 0) + (parts?.name ?? 0), 1);
    expect(text).toMatch(/why: tool [\d.]+ \+ server [\d.]+ \+ name [\d.]+ \+ learned 0 \| matched /);
    const plain = await searchOn(t, { query: "add two numbers together", limit: 3 });
    expect(plain.output.results[0]).not.toHaveProperty("explanation");
  });

  it("reads a place name as asking for places, and says so; a shop's name is not a place", async () => {
    const { output, text } = await searchOn(t, {
      query: "write down a trip to the Forbidden City in Beijing",
    });
    expect(output.places).toEqual(["Forbidden City", "Beijing"]);
    expect(text).toContain('"Forbidden City", "Beijing" read as places: tools that take an address or place');
    const shop = await searchOn(t, { query: "write down the prices I saw at Amazon" });
    expect(shop.output.places).toBeUndefined();
    expect(shop.text).not.toContain("read as");
  });

  it("keeps tools/list within 5,000 characters", async () => {
    const { tools } = await t.client.listTools();
    expect(JSON.stringify(tools).length).toBeLessThanOrEqual(5000);
  });
});

describe("discovery over the bundled servers with the example skills, as `npm start` serves them", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    const skills = path.join(dir, "skills");
    await mkdir(skills);
    const examples = path.resolve("skills");
    for (const file of await readdir(examples))
      if (/\.(?:js|json)$/.test(file)) await copyFile(path.join(examples, file), path.join(skills, file));
    t = await gatewayOn(dir);
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  it.each([
    ["remember a fact about a person", ["memory.create_entities", "memory.add_observations"]],
    ["show what is inside a folder", ["files.list_directory"]],
  ])("finds tools for %j beside the skill that matches some of its words", async (query, expected) => {
    const { output } = await searchOn(t, { query, limit: 5 });
    const names = output.results.map((r) => r.name);
    expect(names).toContain("remember-folder");
    const found = output.results.filter((r) => expected.includes(r.name));
    expect(found.length, JSON.stringify(names)).toBeGreaterThan(0);
    for (const r of found) expect(r.match).toBe("related");
  });
});

describe("learning from what a session uses", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("credits a search's words to the tool the session then probes, kept in the store across restarts", async () => {
    const first = await gatewayOn(dir);
    try {
      const before = await searchOn(first, { query: UNHEARD, limit: 5 });
      expect(before.output.results.map((r) => r.name)).not.toContain("memory.read_graph");
      const probe = await first.call("probe_tool", { tool: "memory.read_graph" });
      expect(probe.isError, textOf(probe)).toBeFalsy();
    } finally {
      await first.close();
    }
    const second = await gatewayOn(dir);
    try {
      const after = await searchOn(second, { query: UNHEARD, limit: 5, explain: true });
      const learned = after.output.results.find((r) => r.name === "memory.read_graph");
      expect(learned?.match).toBe("learned");
      expect(learned?.explanation?.learned.map((l) => l.term)).toEqual(expect.arrayContaining(["quux"]));
      expect(after.text).toMatch(/learned .*quux 0\.\d+/);
    } finally {
      await second.close();
    }
  });

  it("lets tools found only through learned words join the request's own matches, not push them out", async () => {
    const own = await tempDir();
    const t = await gatewayOn(own);
    try {
      const before = await searchOn(t, { query: "add two numbers", limit: 5 });
      const names = (found: Search) => found.output.results.map((r) => r.name);
      expect(names(before)).toContain("everything.get-sum");
      // Each save and probe after the search teaches the search's words, as the fuzz tests' calls do.
      for (let i = 0; i < 8; i++) {
        await searchOn(t, { query: "add two numbers", limit: 5 });
        const saved = await t.call("save_skill", {
          name: `keeper-${i}`,
          description: "Keeps its input.",
          code: 'export default async (input, { step }) => step("keep", () => input);',
        });
        expect(saved.isError, textOf(saved)).toBeFalsy();
        expect(
          (await t.call("probe_tool", { tool: "everything.echo", arguments: { message: "hi" } })).isError,
        ).toBeFalsy();
      }
      const after = await searchOn(t, { query: "add two numbers", limit: 5, explain: true });
      expect(names(after)[0]).toBe(names(before)[0]);
      expect(names(after)).toContain("everything.get-sum");
      const learnedOnly = after.output.results.filter((r) => r.match === "learned");
      expect(learnedOnly.length).toBeGreaterThan(0);
      for (const r of learnedOnly)
        expect(r.explanation?.parts.learned).toBeLessThanOrEqual(DEFAULT_RANKING.learnedAlone);
    } finally {
      await t.close();
      await removeDir(own);
    }
  });

  it("learns nothing with skillsmith.learn false", async () => {
    const off = await tempDir();
    const t = await gatewayOn(off, { learn: false });
    try {
      await searchOn(t, { query: UNHEARD, limit: 5 });
      expect((await t.call("probe_tool", { tool: "memory.read_graph" })).isError).toBeFalsy();
      const after = await searchOn(t, { query: UNHEARD, limit: 5 });
      expect(after.output.results.map((r) => r.name)).not.toContain("memory.read_graph");
    } finally {
      await t.close();
      await removeDir(off);
    }
  });

  it("credits the tools a run calls, and a saved skill's description to the tools it calls", async () => {
    const own = await tempDir();
    const t = await gatewayOn(own);
    try {
      await searchOn(t, { query: "blorptastic sums", limit: 3 });
      const code =
        'export default async function run(input, { call }) { return call("everything.get-sum", { a: 1, b: 2 }); }';
      const run = await t.call("run_skill", { code });
      expect(run.isError, textOf(run)).toBeFalsy();
      const found = await searchOn(t, { query: "blorptastic", limit: 3 });
      expect(found.output.results[0]?.name).toBe("everything.get-sum");
      const save = await t.call("save_skill", {
        name: "frobnitz-adder",
        description: "frobnitz two values",
        code,
        test: { input: {} },
      });
      expect(save.isError, textOf(save)).toBeFalsy();
      const bySkill = await searchOn(t, { query: "frobnitz", limit: 5 });
      expect(bySkill.output.results.map((r) => r.name)).toEqual(
        expect.arrayContaining(["frobnitz-adder", "everything.get-sum"]),
      );
    } finally {
      await t.close();
      await removeDir(own);
    }
  });

  it("caps what a flood of one request can do: a request sharing no word with it ranks exactly as before", async () => {
    const own = await tempDir();
    const t = await gatewayOn(own);
    try {
      const unrelated = [
        "add two numbers together",
        "write text into a file",
        "store entities in the knowledge graph",
      ];
      const before = await Promise.all(unrelated.map((query) => searchOn(t, { query, limit: 8 })));
      // A use is credited to the session's last three searches: these make them all the flooded request.
      for (let i = 0; i < 3; i++) await searchOn(t, { query: "print the environment variables", limit: 3 });
      for (let i = 0; i < 40; i++) {
        await searchOn(t, { query: "print the environment variables", limit: 3 });
        expect((await t.call("probe_tool", { tool: "memory.read_graph" })).isError).toBeFalsy();
      }
      const flooded = await searchOn(t, {
        query: "print the environment variables",
        limit: 5,
        explain: true,
      });
      const graph = flooded.output.results.find((r) => r.name === "memory.read_graph");
      // Capped: every learned word's strength stays below 1, and the learned share below its weight.
      expect(graph?.explanation?.parts.learned).toBeGreaterThan(0);
      expect(graph?.explanation?.parts.learned).toBeLessThanOrEqual(DEFAULT_RANKING.learned);
      const after = await Promise.all(unrelated.map((query) => searchOn(t, { query, limit: 8 })));
      // Names, order and scores (the probes taught memory.read_graph's shape, so `returns` is new).
      const ranking = (s: Search | undefined) => s?.output.results.map((r) => [r.name, r.score, r.match]);
      after.forEach((a, i) => {
        expect(ranking(a)).toEqual(ranking(before[i]));
      });
    } finally {
      await t.close();
      await removeDir(own);
    }
  });
});

describe.skipIf(!hasRedis)("learning shared between instances on Redis", () => {
  it("an instance started after another learned finds what it learned", async () => {
    const redis = await startRedis();
    const dir = await tempDir();
    const on = (name: string) =>
      startGateway(
        {
          mcpServers: realServerEntries(dir, path.join(dir, `${name}.jsonl`)),
          skillsmith: { store: redis.url, skillsDir: path.join(dir, "skills") },
        },
        dir,
      );
    try {
      const a = await on("a");
      try {
        await searchOn(a, { query: UNHEARD, limit: 5 });
        expect((await a.call("probe_tool", { tool: "everything.get-env" })).isError).toBeFalsy();
      } finally {
        await a.close();
      }
      const b = await on("b");
      try {
        const found = await searchOn(b, { query: UNHEARD, limit: 5 });
        expect(found.output.results[0]).toMatchObject({ name: "everything.get-env", match: "learned" });
      } finally {
        await b.close();
      }
    } finally {
      await redis.stop();
      await removeDir(dir);
    }
  });
});
