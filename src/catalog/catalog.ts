import { SkillsmithError } from "../errors.js";
import { createSearchIndex, type IndexEntry } from "./search-index.js";
import type { ToolRecord } from "./tool-record.js";

export interface SearchHit {
  entry: IndexEntry;
  /** The downstream record, for a tool. */
  record?: ToolRecord;
  score: number;
}

export interface SearchRequest {
  query: string;
  limit: number;
  server?: string;
}

export interface Catalog {
  /** Replaces every tool of one server (after a listing, or from its snapshot). */
  setServerTools(server: string, records: ToolRecord[]): void;
  get(name: string): ToolRecord | undefined;
  tools(server?: string): ToolRecord[];
  servers(): string[];
  search(request: SearchRequest): { hits: SearchHit[]; total: number };
}

export function toolEntry(record: ToolRecord): IndexEntry {
  return {
    name: record.name,
    kind: "tool",
    server: record.server,
    tool: record.tool,
    ...(record.title !== undefined && { title: record.title }),
    description: record.description,
    inputSchema: record.inputSchema,
  };
}

/** The tools of every server, kept in one BM25 index. */
export function createCatalog(knownServers: string[] = []): Catalog {
  const index = createSearchIndex();
  const byServer = new Map<string, Map<string, ToolRecord>>(knownServers.map((s) => [s, new Map()]));
  const byName = new Map<string, ToolRecord>();

  return {
    setServerTools(server, records) {
      for (const old of byServer.get(server)?.keys() ?? []) byName.delete(old);
      const mine = new Map(records.map((r) => [r.name, r]));
      byServer.set(server, mine);
      for (const r of mine.values()) byName.set(r.name, r);
      index.replace(server, [...mine.values()].map(toolEntry));
    },
    get: (name) => byName.get(name),
    tools(server) {
      if (server === undefined) return [...byName.values()];
      return [...(byServer.get(server)?.values() ?? [])];
    },
    servers: () => [...byServer.keys()],
    search({ query, limit, server }) {
      if (server !== undefined && !byServer.has(server)) {
        const known = [...byServer.keys()];
        throw new SkillsmithError(
          "TOOL_NOT_FOUND",
          `Unknown server "${server}". Known servers: ${known.join(", ") || "none"}.`,
          { server, known },
        );
      }
      const filter = server === undefined ? undefined : (id: string) => byName.get(id)?.server === server;
      const found = index.search(query, filter);
      const hits: SearchHit[] = [];
      for (const { id, score } of found) {
        if (hits.length >= limit) break;
        const record = byName.get(id);
        if (record) hits.push({ entry: toolEntry(record), record, score });
      }
      return { hits, total: found.length };
    },
  };
}
