import MiniSearch, { type BM25Params, type SearchOptions } from "minisearch";
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
 *    file paths read as their file type, Chinese descriptions glossed in English. Text is analyzed once, here,
 *    and handed to minisearch as space-joined terms (its tokenizer then only splits at spaces).
 * 2. The BM25 index is minisearch's: each tool is a document with fields name, title, description,
 *    parameters and server name (name, title and server boosted 1.5; minisearch's own bm25 parameters).
 *    Every server (and the skills group) is also one document of a second minisearch index, made of the
 *    distinct terms of each of its tools, since a request names what a server as a whole is about ("stock",
 *    "presentation") more often than the words of one tool. Both are updated one server at a time.
 * 3. A tool's score, scaled by the query's best, gets the server's scaled score added (server-then-tool),
 *    and a bonus for the IDF-weighted share of its name's words that the query matched (a tool name is a
 *    compact phrase of what it does: "write_file", "get_weather_by_city").
 * 4. Query terms are boosted (minisearch's boostTerm) by their IDF relative to the query's mean, so that in
 *    a long, many-sided request the rare, specific words lead and the common ones follow (document
 *    frequencies are counted here, beside minisearch, whose counts are per field and private). A query word
 *    also matches the shorter index words it begins with (tool names abbreviate: "deps", "diff", "info"),
 *    added to the query at a lower boost, and a word that no tool has falls back to minisearch's prefix
 *    search ("calc" → calculator). minisearch's multiplier by the number of query terms matched is divided
 *    out: the added abbreviations would inflate it, and it measurably hurts long requests.
 * Only the catalog's own statistics and two public dictionaries are used; nothing is tuned per query.
 * Measured with `node --import tsx bench/quality-cli.ts --ablation --split-half` (LiveMCPBench dev queries).
 */
export interface RankingOptions {
  /** minisearch's boost of each field; a field boosted 0 is left out of the query. */
  boost: Record<FieldName, number>;
  /** minisearch's `bm25` (saturation k, length normalization b, BM25+ floor d), shared by the fields. */
  bm25: BM25Params;
  /** minisearch's `bm25` for the index of whole servers. */
  serverBm25: BM25Params;
  /** Keep minisearch's multiplier by the number of query terms a tool matches (found not to help; off). */
  coordination: boolean;
  analyze: AnalyzeOptions;
  /** Weight of the server's own score, relative to the tool's (both scaled to the best of the query); 0 = off. */
  serverBlend: number;
  /** Weight of the IDF-weighted share of a tool's name words that the query matched; 0 = off. */
  nameCoverage: number;
  /** Query terms are boosted by (idf / mean idf of the query)^power; 0 = off. */
  idfPower: number;
  /**
   * Query words that no tool has also match the longer words they begin ("calc" → calculator), with
   * minisearch's prefix search at `weight`; `always` does so for every query word of at least `minLength` letters.
   */
  prefix: { minLength: number; weight: number; always: boolean } | false;
  /** Query words that no tool has also match index words within this edit distance share (minisearch's fuzzy). */
  fuzzy: { distance: number; weight: number } | false;
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

export const FIELDS = ["name", "title", "description", "params", "server"] as const;
export type FieldName = (typeof FIELDS)[number];

export const DEFAULT_RANKING: RankingOptions = {
  boost: { name: 1.5, title: 1.5, description: 1, params: 1, server: 1.5 },
  bm25: { k: 1.2, b: 0.7, d: 0.5 },
  serverBm25: { k: 1.2, b: 0.75, d: 0.5 },
  coordination: false,
  analyze: { filler: true, paths: true, glosses: true },
  serverBlend: 1,
  nameCoverage: 0.5,
  idfPower: 1,
  prefix: { minLength: 3, weight: 0.5, always: false },
  fuzzy: false,
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

/** A tool as minisearch indexes it: each field already analyzed, its terms joined by spaces. */
type ToolDocument = { id: string } & Record<FieldName, string>;

/** What the index keeps of a tool beside minisearch: its group, its document, and its name's terms. */
interface Indexed {
  group: string;
  /** As given to minisearch, to be removed again exactly. */
  document: ToolDocument;
  /** The distinct terms of the name field. */
  nameTerms: string[];
  /** Their IDFs and the sum, as of the index's `version` (recomputed when the statistics change). */
  nameIdfs: number[];
  nameIdfSum: number;
  version: number;
}

/** Text is analyzed before minisearch sees it: its tokenizer splits at spaces, its term processing is none. */
const splitAtSpaces = (text: string): string[] => (text.length === 0 ? [] : text.split(" "));
const asIs = (term: string): string => term;

function maxOf(values: Iterable<number>): number {
  let best = 0;
  for (const v of values) if (v > best) best = v;
  return best;
}

export function createSearchIndex(options: RankingOptions = DEFAULT_RANKING): SearchIndex {
  const a = options.analyze;
  /**
   * Documents are taken out with remove (the document as it was added), never discard: discarding leaves
   * the clean-up to minisearch's vacuum, which walks the index across timers, and a search or update
   * between two of its batches broke that walk (TypeError in TreeIterator) when servers re-listed.
   * remove also keeps the statistics exact at once. So no vacuum is ever needed.
   */
  const analysis = { tokenize: splitAtSpaces, processTerm: asIs };
  const tools = new MiniSearch<ToolDocument>({
    fields: [...FIELDS],
    ...analysis,
    searchOptions: analysis,
    autoVacuum: false,
  });
  /** One document per server (or skills group): the distinct terms of each of its tools, so tf = tools with the term. */
  const servers = new MiniSearch<{ id: string; text: string }>({
    fields: ["text"],
    ...analysis,
    searchOptions: analysis,
    autoVacuum: false,
  });
  const indexed = new Map<string, Indexed>();
  const idsByGroup = new Map<string, string[]>();
  const serverDocuments = new Map<string, { id: string; text: string }>();
  /** Term → how many tools have it, in any field (minisearch keeps its counts per field, and privately). */
  const df = new Map<string, number>();
  /** Bumped whenever the statistics change, so that IDFs cached on the tools are recomputed. */
  let version = 0;

  const idf = (term: string): number => {
    const n = indexed.size;
    const d = df.get(term) ?? 0;
    return Math.log(1 + (n - d + 0.5) / (d + 0.5));
  };

  const fields = FIELDS.filter((f) => options.boost[f] !== 0); // minisearch would read a boost of 0 as 1
  const boost = { ...options.boost };

  /** The distinct terms of all of a document's fields (each counted once in the document frequencies). */
  const distinctTerms = (document: ToolDocument) =>
    new Set(FIELDS.flatMap((f) => splitAtSpaces(document[f])));

  function toDocument(e: IndexEntry): { document: ToolDocument; nameTerms: string[] } {
    const title = options.lead ? `${e.title ?? ""} ${leadSentence(e.description)}` : (e.title ?? "");
    const fields: Record<FieldName, string[]> = {
      name: terms(e.tool, a),
      title: terms(title, a),
      description: terms(e.description, a),
      params: terms(paramsText(e.inputSchema), a),
      server: terms(e.server, a),
    };
    const document = { id: e.name } as ToolDocument;
    for (const f of FIELDS) document[f] = fields[f].join(" ");
    return { document, nameTerms: [...new Set(fields.name)] };
  }

  function forget(id: string): void {
    const old = indexed.get(id);
    if (!old) return;
    for (const term of distinctTerms(old.document)) {
      const count = (df.get(term) ?? 0) - 1;
      if (count > 0) df.set(term, count);
      else df.delete(term);
    }
    indexed.delete(id);
    tools.remove(old.document);
  }

  /** The query's terms with their boosts, and the words that fall back to prefix search. */
  function weightTerms(text: string): {
    weights: Map<string, number>;
    prefixed: Set<string>;
    unknown: Set<string>;
  } {
    const counts = new Map<string, number>();
    for (const t of terms(text, a)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const known = [...counts.keys()].filter((t) => df.has(t));
    const meanIdf = known.reduce((sum, t) => sum + idf(t), 0) / Math.max(1, known.length);
    const weights = new Map<string, number>();
    const add = (term: string, weight: number) => weights.set(term, (weights.get(term) ?? 0) + weight);
    const prefixed = new Set<string>();
    const unknown = new Set<string>();
    for (const [term, count] of counts) {
      if (!df.has(term)) unknown.add(term);
      let weight = 1 + Math.log(count);
      if (options.idfPower !== 0 && df.has(term)) weight *= (idf(term) / meanIdf) ** options.idfPower;
      add(term, weight);
      const abbreviations = options.abbreviations;
      if (abbreviations) {
        for (let length = abbreviations.minLength; length < term.length; length++) {
          const shorter = term.slice(0, length);
          if (!counts.has(shorter) && df.has(shorter)) add(shorter, weight * abbreviations.weight);
        }
      }
      const prefix = options.prefix;
      if (prefix && term.length >= prefix.minLength && (prefix.always || !df.has(term))) prefixed.add(term);
    }
    return { weights, prefixed, unknown };
  }

  function searchOptions(
    weights: Map<string, number>,
    prefixed: Set<string>,
    unknown: Set<string>,
  ): SearchOptions {
    const fuzzy = options.fuzzy;
    return {
      boostTerm: (term) => weights.get(term) ?? 1,
      prefix: (term) => prefixed.has(term),
      fuzzy: (term) => (fuzzy && unknown.has(term) ? fuzzy.distance : false),
      weights: { prefix: options.prefix ? options.prefix.weight : 0, fuzzy: fuzzy ? fuzzy.weight : 0 },
    };
  }

  /** Tool scores for a text: minisearch's score scaled to the best, plus the server's share and name bonus. */
  function scoreText(text: string): Array<{ id: string; score: number }> {
    const scores: Array<{ id: string; score: number }> = [];
    const { weights, prefixed, unknown } = weightTerms(text);
    if (weights.size === 0) return scores;
    const queryText = [...weights.keys()].join(" ");
    const common = searchOptions(weights, prefixed, unknown);
    const found = tools.search(queryText, { ...common, fields, boost, bm25: options.bm25 });
    if (found.length === 0) return scores;
    const raw = (r: (typeof found)[number]) =>
      options.coordination ? r.score : r.score / Math.max(1, r.queryTerms.length);
    let bestTool = 1e-9;
    for (const r of found) bestTool = Math.max(bestTool, raw(r));
    const serverScores = new Map<string, number>();
    if (options.serverBlend > 0) {
      for (const r of servers.search(queryText, { ...common, bm25: options.serverBm25 }))
        serverScores.set(r.id as string, raw(r));
    }
    const bestServer = Math.max(1e-9, maxOf(serverScores.values()));
    for (const r of found) {
      const id = r.id as string;
      const doc = indexed.get(id);
      if (!doc) continue;
      let score = raw(r) / bestTool;
      score += (options.serverBlend * (serverScores.get(doc.group) ?? 0)) / bestServer;
      if (options.nameCoverage > 0 && doc.nameTerms.length > 0) {
        if (doc.version !== version) {
          doc.nameIdfs = doc.nameTerms.map(idf);
          doc.nameIdfSum = doc.nameIdfs.reduce((sum, value) => sum + value, 0);
          doc.version = version;
        }
        // r.terms: the index terms this tool matched (after abbreviation and prefix expansion).
        let covered = 0;
        doc.nameTerms.forEach((term, i) => {
          if (r.terms.includes(term)) covered += doc.nameIdfs[i] as number;
        });
        if (doc.nameIdfSum > 0) score += (options.nameCoverage * covered) / doc.nameIdfSum;
      }
      scores.push({ id, score });
    }
    return scores;
  }

  return {
    replace(group, entries) {
      for (const id of idsByGroup.get(group) ?? []) if (indexed.get(id)?.group === group) forget(id);
      const oldServer = serverDocuments.get(group);
      if (oldServer) servers.remove(oldServer);
      serverDocuments.delete(group);
      const documents = new Map<string, ReturnType<typeof toDocument>>();
      for (const entry of entries) documents.set(entry.name, toDocument(entry));
      const serverTerms: string[] = [];
      for (const [id, { document, nameTerms }] of documents) {
        forget(id); // a tool that moved here from another group
        indexed.set(id, { group, document, nameTerms, nameIdfs: [], nameIdfSum: 0, version: -1 });
        for (const term of distinctTerms(document)) {
          df.set(term, (df.get(term) ?? 0) + 1);
          serverTerms.push(term);
        }
      }
      tools.addAll([...documents.values()].map((d) => d.document));
      idsByGroup.set(group, [...documents.keys()]);
      if (documents.size > 0) {
        const serverDocument = { id: group, text: serverTerms.join(" ") };
        servers.add(serverDocument);
        serverDocuments.set(group, serverDocument);
      }
      version++;
    },
    search(query, filter) {
      let hits = scoreText(query);
      const clauses = options.clauses > 0 ? splitClauses(query) : [];
      if (clauses.length > 1) {
        const scores = new Map(hits.map((h) => [h.id, h.score]));
        const best = new Map<string, number>();
        for (const clause of clauses) {
          for (const { id, score } of scoreText(clause)) best.set(id, Math.max(best.get(id) ?? 0, score));
        }
        for (const [id, score] of best) scores.set(id, (scores.get(id) ?? 0) + options.clauses * score);
        hits = [...scores].map(([id, score]) => ({ id, score }));
      }
      const results = filter ? hits.filter((h) => filter(h.id)) : hits;
      results.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      return results;
    },
  };
}
