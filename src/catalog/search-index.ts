import MiniSearch, { type SearchOptions } from "minisearch";
import { normalizeTerm, tokenize } from "./tokenizer.js";

/** What the index knows of one tool or skill. */
export interface IndexEntry {
  /** Unique id: `server.tool` for a tool, the skill's name for a skill. */
  name: string;
  kind: "tool" | "skill";
  server: string;
  /** The tool's own name (without its server). */
  tool: string;
  title?: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

interface IndexedDocument {
  id: string;
  server: string;
  tool: string;
  title: string;
  description: string;
  params: string;
}

/**
 * Field weights: a tool's own name says most about what it does, its title and description come next;
 * parameter names and descriptions help ("path", "query") but also repeat across unrelated tools;
 * the server name groups a family of tools ("github", "memory").
 */
const BOOST = { tool: 3, title: 2, description: 1, server: 1.5, params: 0.5 };

/** Parameter names and descriptions as one text. */
function paramsText(inputSchema: Record<string, unknown>): string {
  const properties = inputSchema.properties;
  if (properties === null || typeof properties !== "object") return "";
  return Object.entries(properties as Record<string, unknown>)
    .map(([key, spec]) => {
      const description =
        spec !== null && typeof spec === "object" && "description" in spec ? String(spec.description) : "";
      return `${key} ${description}`;
    })
    .join(" ");
}

const searchDefaults: SearchOptions = {
  boost: BOOST,
  combineWith: "OR",
  // Prefixes let "calc" find "calculator"; fuzziness absorbs small typos, only on longer words where it is safe.
  prefix: (term) => term.length >= 4,
  fuzzy: (term) => (term.length >= 6 ? 0.15 : false),
  weights: { prefix: 0.4, fuzzy: 0.3 },
};

export interface SearchIndex {
  replace(server: string, entries: IndexEntry[]): void;
  search(query: string, filter?: (id: string) => boolean): Array<{ id: string; score: number }>;
}

export function createSearchIndex(): SearchIndex {
  const index = new MiniSearch<IndexedDocument>({
    fields: ["tool", "title", "description", "params", "server"],
    storeFields: [],
    tokenize,
    processTerm: normalizeTerm,
    searchOptions: searchDefaults,
  });
  const idsByServer = new Map<string, string[]>();

  return {
    replace(server, entries) {
      for (const id of idsByServer.get(server) ?? []) index.discard(id);
      index.addAll(
        entries.map((e) => ({
          id: e.name,
          server: e.server,
          tool: e.tool,
          title: e.title ?? "",
          description: e.description,
          params: paramsText(e.inputSchema),
        })),
      );
      idsByServer.set(
        server,
        entries.map((e) => e.name),
      );
    },
    search(query, filter) {
      const results = index.search(query, filter ? { filter: (r) => filter(String(r.id)) } : {});
      return results.map((r) => ({ id: String(r.id), score: r.score }));
    },
  };
}
