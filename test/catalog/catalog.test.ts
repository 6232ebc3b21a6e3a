import { describe, expect, it } from "vitest";
import { createCatalog } from "../../src/catalog/catalog.js";
import { DEFAULT_RANKING, type IndexEntry } from "../../src/catalog/search-index.js";
import { toToolRecord } from "../../src/catalog/tool-record.js";

/** What a saved skill's description does for the tools it calls (search_tools runs the same catalog). */

const tool = (name: string, description: string) =>
  toToolRecord("memory", { name, description, inputSchema: { type: "object" } });

const skill = (description: string, calls: string[]): IndexEntry & { calls: string[] } => ({
  name: "keep-notes",
  kind: "skill",
  server: "skills",
  tool: "keep-notes",
  description,
  inputSchema: { type: "object" },
  calls,
});

function catalog(ranking = DEFAULT_RANKING) {
  const c = createCatalog(["memory"], ranking);
  c.setServerTools("memory", [
    tool("create_entities", "Create entities in the knowledge graph"),
    tool("read_graph", "Read the whole knowledge graph"),
  ]);
  return c;
}

const names = (c: ReturnType<typeof catalog>, query: string) =>
  c.search({ query, limit: 5 }).hits.map((h) => h.entry.name);

describe("a saved skill's description counts for the tools it calls", () => {
  it("finds a called tool by the skill's words, as learned words, and forgets them with the skill", () => {
    const c = catalog();
    expect(names(c, "jot")).not.toContain("memory.create_entities");
    c.setSkills([skill("Jot a note down", ["memory.create_entities"])]);
    const found = c.search({ query: "jot", limit: 5, explain: true });
    const hit = found.hits.find((h) => h.entry.name === "memory.create_entities");
    expect(hit?.match).toBe("learned");
    expect(hit?.explanation?.learned.map((l) => l.term)).toEqual(["jot"]);
    expect(names(c, "jot")).not.toContain("memory.read_graph");
    c.setSkills([]);
    expect(names(c, "jot")).not.toContain("memory.create_entities");
  });

  it("keeps what the tool learned from use beside it, the stronger strength of a word winning", () => {
    const c = catalog();
    c.setLearned("memory.create_entities", new Map([["zorb", 0.9]]));
    c.setSkills([skill("Jot a note down", ["memory.create_entities"])]);
    const learned = (query: string) =>
      c.search({ query, limit: 5, explain: true }).hits.find((h) => h.entry.name === "memory.create_entities")
        ?.explanation?.learned;
    expect(learned("zorb")).toEqual([{ term: "zorb", strength: 0.9 }]);
    expect(learned("jot")?.[0]?.strength).toBeGreaterThan(0);
    c.setLearned("memory.create_entities", new Map([["jot", 0.95]]));
    expect(learned("jot")).toEqual([{ term: "jot", strength: 0.95 }]);
    c.setLearned("memory.create_entities", undefined);
    expect(learned("zorb")).toBeUndefined();
    expect(learned("jot")?.[0]?.strength).toBeGreaterThan(0);
  });

  it("counts for nothing when learned words are off", () => {
    const c = catalog({ ...DEFAULT_RANKING, learned: 0 });
    c.setSkills([skill("Jot a note down", ["memory.create_entities"])]);
    expect(names(c, "jot")).not.toContain("memory.create_entities");
  });
});
