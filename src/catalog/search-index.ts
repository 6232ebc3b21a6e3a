import {
  Bm25fIndex,
  type Bm25fParams,
  type DocumentInput,
  type IndexedDoc,
  type WeightedTerm,
} from "./bm25f.js";
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

/**
 * Ranking, in short (each part can be switched off in RankingOptions, which the quality bench's ablation does):
 * 1. Analysis (tokenizer.ts): identifiers split, Porter stems, function words and request filler dropped,
 *    file paths read as their file type, Chinese descriptions glossed in English.
 * 2. Each tool is a BM25F document over its name, title, description, parameters and server name; every
 *    server is also scored as one document made of all its tools, since a request names what a server as
 *    a whole is about ("stock", "presentation") more often than the words of one tool.
 * 3. A tool's score, scaled by the query's best, gets the server's scaled score added (server-then-tool),
 *    and a bonus for the IDF-weighted share of its name's words that the query contains (a tool name is a
 *    compact phrase of what it does: "write_file", "get_weather_by_city").
 * 4. Query terms are weighted by their IDF relative to the query's mean, so that in a long, many-sided
 *    request the rare, specific words lead and the common ones follow. A query word also matches the
 *    shorter index words it begins with (tool names abbreviate: "deps", "diff", "info"), at a lower weight,
 *    and a word that no tool has falls back to the words it is the beginning of ("calc" → calculator).
 * Only the catalog's own statistics and two public dictionaries are used; nothing is tuned per query.
 * Measured with `node --import tsx bench/quality-cli.ts --ablation --split-half` (LiveMCPBench dev queries).
 */
export interface RankingOptions {
  bm25: Bm25fParams;
  analyze: AnalyzeOptions;
  /** Weight of the server's own score, relative to the tool's (both scaled to the best of the query); 0 = off. */
  serverBlend: number;
  /** Weight of the IDF-weighted share of a tool's name words that the query contains; 0 = off. */
  nameCoverage: number;
  /** Query terms are weighted by (idf / mean idf of the query)^power; 0 = off. */
  idfPower: number;
  /**
   * Query words that no tool has also match the longer words they begin ("calc" → calculator), at `weight`;
   * `always` does so for every query word of at least `minLength` letters.
   */
  prefix: { minLength: number; weight: number; always: boolean } | false;
  /**
   * A query word also matches the index words it begins with, of at least `minLength` letters, at `weight`:
   * tool names abbreviate ("npmDeps", "text_diff", "get_file_info" for dependencies, different, information).
   */
  abbreviations: { minLength: number; weight: number } | false;
  /** Index the description's first sentence in the title field too (found not to help; off). */
  lead: boolean;
  /** Weight of the best clause's own score, long requests split into clauses (found not to help; 0 = off). */
  clauses: number;
}

export const DEFAULT_RANKING: RankingOptions = {
  bm25: {
    k1: 1.2,
    fields: {
      name: { weight: 3, b: 0.5 },
      title: { weight: 2, b: 0.75 },
      description: { weight: 1, b: 0.75 },
      params: { weight: 0.5, b: 0.75 },
      server: { weight: 1.5, b: 0.5 },
    },
    serverK1: 1.2,
    serverB: 0.75,
  },
  analyze: { filler: true, paths: true, glosses: true },
  serverBlend: 1,
  nameCoverage: 0.5,
  idfPower: 1,
  prefix: { minLength: 3, weight: 0.5, always: false },
  abbreviations: { minLength: 3, weight: 0.3 },
  lead: false,
  clauses: 0,
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

function maxOf(values: Iterable<number>): number {
  let best = 0;
  for (const v of values) if (v > best) best = v;
  return best;
}

export function createSearchIndex(options: RankingOptions = DEFAULT_RANKING): SearchIndex {
  const index = new Bm25fIndex(options.bm25);
  const a = options.analyze;

  function toDocument(e: IndexEntry): DocumentInput {
    const title = options.lead ? `${e.title ?? ""} ${leadSentence(e.description)}` : (e.title ?? "");
    return {
      id: e.name,
      server: e.server,
      fields: {
        name: terms(e.tool, a),
        title: terms(title, a),
        description: terms(e.description, a),
        params: terms(paramsText(e.inputSchema), a),
        server: terms(e.server, a),
      },
    };
  }

  function queryTerms(query: string): WeightedTerm[] {
    const counts = new Map<string, number>();
    for (const t of terms(query, a)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const known = [...counts.keys()].filter((t) => index.df(t) > 0);
    const meanIdf = known.reduce((sum, t) => sum + index.idf(t), 0) / Math.max(1, known.length);
    const out: WeightedTerm[] = [];
    for (const [term, count] of counts) {
      let weight = 1 + Math.log(count);
      if (options.idfPower !== 0 && index.df(term) > 0)
        weight *= (index.idf(term) / meanIdf) ** options.idfPower;
      out.push({ term, weight });
      const abbreviations = options.abbreviations;
      if (abbreviations) {
        for (let length = abbreviations.minLength; length < term.length; length++) {
          const shorter = term.slice(0, length);
          if (!counts.has(shorter) && index.df(shorter) > 0)
            out.push({ term: shorter, weight: weight * abbreviations.weight });
        }
      }
      const prefix = options.prefix;
      if (prefix && term.length >= prefix.minLength && (prefix.always || index.df(term) === 0)) {
        for (const longer of index.withPrefix(term)) {
          if (!counts.has(longer)) out.push({ term: longer, weight: weight * prefix.weight });
        }
      }
    }
    return out;
  }

  /** IDF-weighted share of a tool's name terms that are among the query's. */
  function nameCoverage(doc: IndexedDoc, present: ReadonlySet<string>, idfs: Map<string, number>): number {
    let covered = 0;
    let total = 0;
    for (const term of doc.nameTerms) {
      let idf = idfs.get(term);
      if (idf === undefined) {
        idf = index.idf(term);
        idfs.set(term, idf);
      }
      total += idf;
      if (present.has(term)) covered += idf;
    }
    return total === 0 ? 0 : covered / total;
  }

  /** Tool scores for a text: the tool's BM25F scaled to the best, plus its server's share and name bonus. */
  function scoreText(text: string): Array<{ doc: IndexedDoc; score: number }> {
    const weighted = queryTerms(text);
    const found = index.scoreDocuments(weighted);
    if (found.length === 0) return found;
    const bestTool = maxOf(found.map((f) => f.score));
    const serverScores = options.serverBlend > 0 ? index.scoreServers(weighted) : new Map<string, number>();
    const bestServer = Math.max(1e-9, maxOf(serverScores.values()));
    const present = new Set(weighted.map((w) => w.term));
    const idfs = new Map<string, number>();
    for (const hit of found) {
      const server = serverScores.get(hit.doc.server) ?? 0;
      const coverage =
        options.nameCoverage > 0 ? options.nameCoverage * nameCoverage(hit.doc, present, idfs) : 0;
      hit.score = hit.score / bestTool + (options.serverBlend * server) / bestServer + coverage;
    }
    return found;
  }

  return {
    replace(server, entries) {
      index.replace(server, entries.map(toDocument));
    },
    search(query, filter) {
      let hits = scoreText(query);
      const clauses = options.clauses > 0 ? splitClauses(query) : [];
      if (clauses.length > 1) {
        const scores = new Map(hits.map((h) => [h.doc, h.score]));
        const best = new Map<IndexedDoc, number>();
        for (const clause of clauses) {
          for (const { doc, score } of scoreText(clause)) best.set(doc, Math.max(best.get(doc) ?? 0, score));
        }
        for (const [doc, score] of best) scores.set(doc, (scores.get(doc) ?? 0) + options.clauses * score);
        hits = [...scores].map(([doc, score]) => ({ doc, score }));
      }
      const results: Array<{ id: string; score: number }> = [];
      for (const { doc, score } of hits) if (!filter || filter(doc.id)) results.push({ id: doc.id, score });
      results.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      return results;
    },
  };
}
