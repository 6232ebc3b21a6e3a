import { describe, expect, it } from "vitest";
import {
  createSearchIndex,
  DEFAULT_RANKING,
  type IndexEntry,
  type RankingOptions,
} from "../../src/catalog/search-index.js";
import { terms } from "../../src/catalog/tokenizer.js";

/**
 * One test per ranking feature, each run with the feature on (as shipped) and off: the index module is the only
 * surface where a feature can be switched, so these tests use it directly (search_tools runs the same code; see
 * test/gateway/discovery.test.ts for the features through an MCP client).
 */

function tool(server: string, name: string, description: string, params: string[] = []): IndexEntry {
  return {
    name: `${server}.${name}`,
    kind: "tool",
    server,
    tool: name,
    description,
    inputSchema: {
      type: "object",
      properties: Object.fromEntries(params.map((p) => [p, { type: "string" }])),
    },
  };
}

const CATALOG: IndexEntry[] = [
  tool("weather", "get_forecast", "Weather forecast for a city"),
  tool("weather", "get_alerts", "Severe weather alerts for a region"),
  tool("docs", "show_help", "Show help for the commands"),
  tool("slides", "read_deck", "Read the slides of a presentation", ["path"]),
  tool("cn", "tianqi", "获取天气预报"),
  tool("npm", "npm_deps", "List the deps of a package", ["package"]),
  tool("math", "calculator", "Evaluate arithmetic expressions"),
  tool("memory", "create_entities", "Create entities in the knowledge graph"),
  tool("memory", "add_observations", "Add observations to entities"),
  tool("files", "read_file", "Read a file"),
  tool("files", "write_file", "Write a file"),
  tool("files", "move_file", "Move a file"),
  tool("files", "archive", "Create a zip archive of a file or folder"),
  tool("stocks", "get_quote", "Latest stock quote"),
  tool("stocks", "get_history", "Stock price history"),
  tool("stocks", "list_symbols", "List ticker symbols"),
  tool("maps", "geocode", "Convert an address or place name to coordinates"),
  tool("maps", "route", "Directions between two points"),
];

type Overrides = { [K in keyof RankingOptions]?: RankingOptions[K] };

function search(
  query: string,
  overrides: Overrides = {},
  setup?: (index: ReturnType<typeof createSearchIndex>) => void,
) {
  const index = createSearchIndex({ ...DEFAULT_RANKING, ...overrides });
  const byServer = new Map<string, IndexEntry[]>();
  for (const e of CATALOG) byServer.set(e.server, [...(byServer.get(e.server) ?? []), e]);
  for (const [server, entries] of byServer) index.replace(server, entries);
  setup?.(index);
  return index.search(query, { explain: true });
}

const ids = (found: ReturnType<typeof search>) => found.hits.map((h) => h.id);
const hit = (found: ReturnType<typeof search>, id: string) => found.hits.find((h) => h.id === id);

describe("ranking features, each on and off", () => {
  it("drops the filler of spoken requests", () => {
    expect(ids(search("please help me with the weather forecast"))).not.toContain("docs.show_help");
    expect(
      ids(
        search("please help me with the weather forecast", {
          analyze: { ...DEFAULT_RANKING.analyze, filler: false },
        }),
      ),
    ).toContain("docs.show_help");
  });

  it("reads a file path as its file type", () => {
    expect(ids(search("go over /tmp/q3/report.pptx"))).toContain("slides.read_deck");
    expect(
      ids(search("go over /tmp/q3/report.pptx", { analyze: { ...DEFAULT_RANKING.analyze, paths: false } })),
    ).not.toContain("slides.read_deck");
  });

  it("reads a path the request writes as writing, and one it reads as not", () => {
    const off = { analyze: { ...DEFAULT_RANKING.analyze, targets: false } };
    expect(ids(search("save my notes to /tmp/out/notes.md"))[0]).toBe("files.write_file");
    expect(ids(search("save my notes to /tmp/out/notes.md", off))[0]).not.toBe("files.write_file");
    expect(ids(search("go over the notes in /tmp/out/notes.md"))[0]).not.toBe("files.write_file");
  });

  it("reads a place name in a request as asking for an address or place", () => {
    const found = search("a day out in Paris with the kids");
    expect(ids(found)).toContain("maps.geocode");
    expect(found.places).toEqual(["Paris"]);
    const off = search("a day out in Paris with the kids", {
      analyze: { ...DEFAULT_RANKING.analyze, places: false },
    });
    expect(ids(off)).not.toContain("maps.geocode");
    expect(off.places).toEqual([]);
  });

  it("never bridges the words a place name stands for, when no tool has them", () => {
    // "address" and "place" are related to "point" in WordNet: were they bridged, geo.locate would be found. The
    // games make enough hits that the search needs no second, wider pass.
    const games = [1, 2, 3, 4, 5].map((n) => tool("fun", `game_${n}`, "Games for kids on a rainy day"));
    const found = search("a day out in Paris with the kids", {}, (index) => {
      index.replace("maps", []);
      index.replace("geo", [tool("geo", "locate", "Locate a point by its coordinates")]);
      index.replace("fun", games);
    });
    expect(found.places).toEqual(["Paris"]);
    const bridgedWords = found.bridged.map((b) => b.word);
    expect(bridgedWords).not.toContain("address");
    expect(bridgedWords).not.toContain("place");
    expect(ids(found)).not.toContain("geo.locate");
  });

  it("glosses Chinese descriptions in English", () => {
    expect(ids(search("weather forecast"))).toContain("cn.tianqi");
    expect(
      ids(search("weather forecast", { analyze: { ...DEFAULT_RANKING.analyze, glosses: false } })),
    ).not.toContain("cn.tianqi");
  });

  it("adds the server's share to each of its tools (server-then-tool)", () => {
    expect(hit(search("stock symbols"), "stocks.list_symbols")?.explanation?.parts.server).toBeGreaterThan(0);
    expect(
      hit(search("stock symbols", { serverBlend: 0 }), "stocks.list_symbols")?.explanation?.parts.server,
    ).toBe(0);
  });

  it("gives a bonus for the share of a tool's name the request covers", () => {
    const on = search("archive a file");
    expect(hit(on, "files.archive")?.explanation?.parts.name).toBeGreaterThan(0);
    expect(hit(search("archive a file", { nameCoverage: 0 }), "files.archive")?.explanation?.parts.name).toBe(
      0,
    );
  });

  it("weights query terms by their rarity, so the specific word leads", () => {
    const ratio = (found: ReturnType<typeof search>) =>
      (hit(found, "files.archive")?.score ?? 0) / (hit(found, "files.read_file")?.score ?? 1);
    expect(ratio(search("file archive"))).toBeGreaterThan(ratio(search("file archive", { idfPower: 0 })));
  });

  it("matches the shorter words a query word begins with (abbreviations)", () => {
    expect(ids(search("dependencies"))).toContain("npm.npm_deps");
    expect(ids(search("dependencies", { abbreviations: false }))).not.toContain("npm.npm_deps");
  });

  it("matches the longer words an unknown word begins with (prefixes)", () => {
    expect(ids(search("calc"))).toContain("math.calculator");
    expect(ids(search("calc", { prefix: false, bridge: false }))).not.toContain("math.calculator");
  });

  it("bridges a word no tool has through WordNet, and marks what only that found as related", () => {
    const on = search("remember");
    expect(on.bridged[0]).toMatchObject({ word: "remember", related: expect.arrayContaining(["memory"]) });
    expect(ids(on).slice(0, 2)).toEqual(expect.arrayContaining(["memory.create_entities"]));
    for (const h of on.hits) expect(h.match).toBe("related");
    expect(ids(search("remember", { bridge: false }))).toEqual([]);
  });

  it("gives a server no share for related words: a server is judged by the request's own words", () => {
    const on = search("remember");
    expect(on.hits.length).toBeGreaterThan(0);
    for (const h of on.hits) expect(h.explanation?.parts.server).toBe(0);
    const own = search("remember knowledge");
    const entities = own.hits.find((h) => h.id === "memory.create_entities");
    expect(entities?.explanation?.parts.server).toBeGreaterThan(0);
  });

  it("keeps every related word the catalog has, not only the rarest few", () => {
    const notes = [
      tool("notes", "add_observations", "Add observations to an entity"),
      tool("notes", "delete_observations", "Delete observations of an entity"),
      tool("notes", "get_item", "Get one item"),
      tool("notes", "set_point", "Set a point"),
      tool("notes", "general_info", "General information"),
      tool("notes", "detail_view", "Show a detail"),
    ];
    const related = (perWord?: number) => {
      const bridge = DEFAULT_RANKING.bridge as Exclude<RankingOptions["bridge"], false>;
      const index = createSearchIndex({
        ...DEFAULT_RANKING,
        bridge: { ...bridge, perWord: perWord ?? bridge.perWord },
      });
      index.replace("notes", notes);
      const found = index.search("fact");
      return { related: found.bridged[0]?.related, top: found.hits.map((h) => h.id) };
    };
    expect(related().related).toEqual(expect.arrayContaining(["observation", "item", "point"]));
    expect(related().top).toContain("notes.add_observations");
    expect(related(3).related).not.toContain("observation");
    expect(related(3).top).not.toContain("notes.add_observations");
  });

  it("bridges a misspelt word to the catalog word spelt like it", () => {
    const on = search("wether forecast");
    expect(on.bridged).toContainEqual({ word: "wether", related: ["weather"] });
    expect(ids(on)[0]).toBe("weather.get_forecast");
    expect(search("wether forecast", { bridge: false }).bridged).toEqual([]);
  });

  it("does not bridge when the request's own words match well", () => {
    const found = search("read a file");
    expect(found.bridged).toEqual([]);
    for (const h of found.hits) expect(h.match).toBe("lexical");
  });

  it("ranks by learned words, within the learned weight, and forgets them", () => {
    const learn = (index: ReturnType<typeof createSearchIndex>) =>
      index.setLearned("stocks.get_history", new Map([["zorb", 0.8]]));
    const on = search("zorb", {}, learn);
    expect(on.hits).toEqual([expect.objectContaining({ id: "stocks.get_history", match: "learned" })]);
    expect(on.hits[0]?.explanation?.learned).toEqual([{ term: "zorb", strength: 0.8 }]);
    // Found only through what it learned: the weight of a tool the request does not reach.
    expect(on.hits[0]?.explanation?.parts.learned).toBeCloseTo(0.8 * DEFAULT_RANKING.learnedAlone);
    expect(search("zorb", { learned: 0 }, learn).hits).toEqual([]);
    const forgotten = search("zorb", {}, (index) => {
      learn(index);
      index.setLearned("stocks.get_history", undefined);
    });
    expect(forgotten.hits).toEqual([]);
  });

  it("weighs what a tool learned more when the request's own words reach it too", () => {
    const found = search("stock price", {}, (index) => {
      const learned = new Map([[terms("price")[0] as string, 0.8]]);
      index.setLearned("stocks.get_history", learned);
      index.setLearned("files.read_file", learned);
    });
    const reached = hit(found, "stocks.get_history")?.explanation?.parts.learned ?? 0;
    expect(reached / (hit(found, "files.read_file")?.explanation?.parts.learned ?? 1)).toBeCloseTo(
      DEFAULT_RANKING.learned / DEFAULT_RANKING.learnedAlone,
    );
  });

  it("leaves a request that shares no word with what was learned exactly as it was", () => {
    const flood = (index: ReturnType<typeof createSearchIndex>) => {
      for (const e of CATALOG) index.setLearned(e.name, new Map([["zorb", 1]]));
    };
    const scores = (found: ReturnType<typeof search>) => found.hits.map((h) => [h.id, h.score]);
    expect(scores(search("weather alerts", {}, flood))).toEqual(scores(search("weather alerts")));
  });

  it("ranks the same whether minisearch's index was built in one pass, by adds, or after removals", () => {
    const groups = new Map<string, IndexEntry[]>();
    for (const e of CATALOG) groups.set(e.server, [...(groups.get(e.server) ?? []), e]);
    const queries = ["read a file", "weather alerts", "stock price history", "knowledge graph entities"];
    const ranking = (index: ReturnType<typeof createSearchIndex>) =>
      queries.map((q) => index.search(q).hits.map((h) => [h.id, Math.round(h.score * 1e9)]));
    const oneGo = createSearchIndex();
    for (const [server, entries] of groups) oneGo.replace(server, entries);
    // One server at a time, searched in between: the first in one pass, the rest added to it.
    const byAdds = createSearchIndex();
    for (const [server, entries] of groups) {
      byAdds.replace(server, entries);
      byAdds.search("file");
    }
    expect(ranking(byAdds)).toEqual(ranking(oneGo));
    // A server listed again with a tool fewer, and one gone, after the one-pass build.
    const without = (server: string, name: string) =>
      (groups.get(server) ?? []).filter((e) => e.name !== name);
    const changed = createSearchIndex();
    for (const [server, entries] of groups) changed.replace(server, entries);
    changed.search("file");
    changed.replace("files", without("files", "files.move_file"));
    changed.replace("weather", []);
    const fresh = createSearchIndex();
    for (const [server, entries] of groups) {
      if (server === "weather") continue;
      fresh.replace(server, server === "files" ? without("files", "files.move_file") : entries);
    }
    expect(ranking(changed)).toEqual(ranking(fresh));
    expect(
      ranking(changed)
        .flat()
        .map(([id]) => id),
    ).not.toContain("files.move_file");
  });

  it("keeps only the best `limit` hits, counts them all, and applies a per-hit boost", () => {
    const index = createSearchIndex();
    index.replace(
      "files",
      CATALOG.filter((e) => e.server === "files"),
    );
    const all = index.search("file");
    const two = index.search("file", { limit: 2 });
    expect(two.total).toBe(all.total);
    expect(two.hits.map((h) => h.id)).toEqual(all.hits.slice(0, 2).map((h) => h.id));
    const last = all.hits[all.hits.length - 1]?.id as string;
    const boosted = index.search("file", { boost: (id) => (id === last ? 10 : undefined), limit: 1 });
    expect(boosted.hits[0]?.id).toBe(last);
  });
});
