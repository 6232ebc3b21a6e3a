import { Bm25fIndex, type Bm25fParams, type DocumentInput, type WeightedTerm } from "./bm25f.js";
import { type AnalyzeOptions, terms } from "./tokenizer.js";

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

export interface RankingOptions {
  bm25: Bm25fParams;
  /** Query terms of at least `minLength` letters also match longer index terms they begin, at `weight`. */
  prefix: { minLength: number; weight: number } | false;
  /** Index the description's first sentence (and the title) as a field of its own. */
  lead: boolean;
  /** Weight of the server's own score, relative to the tool's (both scaled to the best of the query). */
  serverBlend: number;
  analyze: AnalyzeOptions;
  /** Weight of the best clause's score (long requests are split into clauses, each scored on its own). */
  clauses: number;
  clauseMode: "max" | "sum";
  /** Weight of the IDF-weighted share of a tool's name words that the query contains. */
  nameCoverage: number;
  /** Query words also match index words that share their first `length` letters, at `weight`. */
  truncation: { length: number; weight: number } | false;
  /** Query terms are weighted by (idf / mean idf of the query)^power, on top of BM25's own idf. */
  idfPower: number;
  /** Query terms found in more than this share of the tools are dropped (1 keeps all). */
  maxDocShare: number;
}

export const DEFAULT_RANKING: RankingOptions = {
  bm25: {
    k1: 1.2,
    fields: {
      name: { weight: 3, b: 0.5 },
      lead: { weight: 2, b: 0.75 },
      description: { weight: 1, b: 0.75 },
      params: { weight: 0.5, b: 0.75 },
      server: { weight: 1.5, b: 0.5 },
    },
    serverK1: 1.2,
    serverB: 0.75,
  },
  prefix: { minLength: 4, weight: 0.4 },
  lead: false,
  serverBlend: 0,
  analyze: { filler: true, paths: true, glosses: true },
  clauses: 0,
  clauseMode: "max",
  nameCoverage: 0,
  truncation: false,
  idfPower: 0,
  maxDocShare: 1,
};

/** Clauses of a request: split at sentence ends, semicolons, commas and "and"/"then"/"also". */
export function splitClauses(query: string): string[] {
  return query
    .split(/[.?!;:\n]+(?=\s|$)|,\s+|\s+(?:and then|and|then|also|as well as|plus)\s+/i)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

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

/** The description's first sentence: what the tool does, before usage notes and argument lists. */
export function leadSentence(description: string): string {
  const text = description.trim();
  const end = text.search(/[.!?。！？](\s|$)|\n\s*\n/);
  return end < 0 ? text : text.slice(0, end + 1);
}

export interface SearchIndex {
  replace(server: string, entries: IndexEntry[]): void;
  search(query: string, filter?: (id: string) => boolean): Array<{ id: string; score: number }>;
}

export function createSearchIndex(options: RankingOptions = DEFAULT_RANKING): SearchIndex {
  const index = new Bm25fIndex(options.bm25);
  const a = options.analyze;

  function toDocument(e: IndexEntry): DocumentInput {
    const lead = options.lead ? `${e.title ?? ""} ${leadSentence(e.description)}` : (e.title ?? "");
    return {
      id: e.name,
      server: e.server,
      fields: {
        name: terms(e.tool, a),
        lead: terms(lead, a),
        description: terms(e.description, a),
        params: terms(paramsText(e.inputSchema), a),
        server: terms(e.server, a),
      },
    };
  }

  function queryTerms(query: string): WeightedTerm[] {
    const counts = new Map<string, number>();
    for (const t of terms(query, a)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const coWeight = Number(process.env.CO_WEIGHT ?? 0);
    const extra = new Map<string, number>();
    if (coWeight > 0) {
      for (const t of counts.keys()) {
        for (const u of index.associated(t, Number(process.env.CO_MIN ?? 0.5), Number(process.env.CO_TOP ?? 3))) {
          if (!counts.has(u)) extra.set(u, Math.max(extra.get(u) ?? 0, coWeight));
        }
      }
    }
    const out: WeightedTerm[] = [];
    const known = [...counts.keys()].filter((t) => index.df(t) > 0);
    const meanIdf = known.reduce((sum, t) => sum + index.idf(t), 0) / Math.max(1, known.length);
    for (const [term, count] of counts) {
      if (index.df(term) > options.maxDocShare * index.size) continue;
      let weight = 1 + Math.log(count);
      if (options.idfPower !== 0 && index.df(term) > 0) weight *= (index.idf(term) / meanIdf) ** options.idfPower;
      out.push({ term, weight });
      const truncation = options.truncation;
      if (truncation && term.length > truncation.length) {
        for (const similar of index.withPrefix(term.slice(0, truncation.length))) {
          if (similar !== term && !counts.has(similar)) out.push({ term: similar, weight: weight * truncation.weight });
        }
      }
      const prefix = options.prefix;
      if (prefix && term.length >= prefix.minLength) {
        for (const longer of index.withPrefix(term)) out.push({ term: longer, weight: weight * prefix.weight });
      }
    }
    for (const [term, weight] of extra) if (index.df(term) > 0) out.push({ term, weight });
    return out;
  }

  /** Tool scores for a text, scaled so that the best is 1 (plus the server's share). */
  function scoreText(text: string): Map<string, number> {
    const weighted = queryTerms(text);
    const scores = index.scoreDocuments(weighted);
    if (scores.size === 0) return scores;
    const bestTool = Math.max(...scores.values());
    const serverScores = options.serverBlend > 0 ? index.scoreServers(weighted) : new Map<string, number>();
    const bestServer = Math.max(1e-9, ...serverScores.values());
    const present = new Set(weighted.map((w) => w.term));
    for (const [id, score] of scores) {
      const server = serverScores.get(index.serverOf(id) ?? "") ?? 0;
      const coverage = options.nameCoverage > 0 ? options.nameCoverage * index.nameCoverage(id, present) : 0;
      scores.set(id, score / bestTool + (options.serverBlend * server) / bestServer + coverage);
    }
    return scores;
  }

  return {
    replace(server, entries) {
      index.replace(server, entries.map(toDocument));
    },
    search(query, filter) {
      const scores = scoreText(query);
      if (options.clauses > 0) {
        const clauses = splitClauses(query);
        if (clauses.length > 1) {
          const best = new Map<string, number>();
          for (const clause of clauses) {
            for (const [id, score] of scoreText(clause)) {
              const old = best.get(id) ?? 0;
              best.set(id, options.clauseMode === "max" ? Math.max(old, score) : old + score / clauses.length);
            }
          }
          for (const [id, score] of best) scores.set(id, (scores.get(id) ?? 0) + options.clauses * score);
        }
      }
      const results: Array<{ id: string; score: number }> = [];
      for (const [id, score] of scores) if (!filter || filter(id)) results.push({ id, score });
      results.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return results;
    },
  };
}
