import MiniSearch, { type BM25Params } from "minisearch";
import { PLACE_WORDS, placeNames } from "./place-names.js";
import { type AnalyzeOptions, normalizeTerm, terms, words } from "./tokenizer.js";
import { type Relation, relatedWords } from "./wordnet.js";

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
 * 1. Analysis (tokenizer.ts): identifiers split, Porter2 stems, function words and request filler dropped,
 *    file paths read as their file type (and a path the request writes as "write" too), Chinese descriptions
 *    glossed in English; a request that names a place (WordNet) also asks for an address or place. Text is
 *    analyzed once, here, and handed to minisearch as space-joined terms (its tokenizer then only splits at
 *    spaces).
 * 2. The BM25 index is minisearch's: each tool is a document with fields name, title, description,
 *    parameters and server name. Every server (and the skills group) is also scored as one document made of
 *    the distinct terms of each of its tools (BM25 over counts taken from the tools' postings), since a
 *    request names what a server as a whole is about ("stock", "presentation") more often than the words of
 *    one tool.
 * 3. A tool's score, scaled by the query's best, gets the server's scaled score added (server-then-tool),
 *    and a bonus for the IDF-weighted share of its name's words that the query matched.
 * 4. Query terms are boosted by their IDF relative to the query's mean, so that in a long request the rare,
 *    specific words lead. A query word also matches the shorter index words it begins with ("deps").
 * 5. Fallbacks, only where the request's own words fail (at least half of its words unknown to every tool, or
 *    fewer than `minHits` tools matched): the vocabulary bridge looks a word up in WordNet (synonyms, derived,
 *    broader and narrower words: "remember" → memory) or, failing that, matches catalog words sharing its
 *    character trigrams (typos); the related words the catalog has are searched at a lower weight (for the tools,
 *    not for the servers' share), and a tool found only through them is marked related. An unknown word also
 *    matches the words it begins ("calc").
 * 6. Learned words (search/learning.ts; and, from catalog.ts, the words of the skills that call a tool): the
 *    words of requests that led agents to use a tool, each with a strength in 0..1; a tool's learned share (like the server's, at most `learned`) is the weighted share of
 *    the query's words it has learned. A word it never learned adds nothing, so no flood of one request can move
 *    another request that shares no word with it.
 * Only the catalog's own statistics, two public dictionaries and what agents used are used; nothing is tuned
 * per query. Measured with `node --import tsx bench/quality-cli.ts --ablation --split-half`.
 */
export interface RankingOptions {
  /** minisearch's boost of each field; a field boosted 0 is left out of the query. */
  boost: Record<FieldName, number>;
  /** minisearch's `bm25` (saturation k, length normalization b, BM25+ floor d), shared by the fields. */
  bm25: BM25Params;
  /** The BM25 parameters (minisearch's formula) of the servers scored as whole documents. */
  serverBm25: BM25Params;
  analyze: AnalyzeOptions;
  /** Weight of the server's own score, relative to the tool's (both scaled to the best of the query); 0 = off. */
  serverBlend: number;
  /** Weight of the IDF-weighted share of a tool's name words that the query matched; 0 = off. */
  nameCoverage: number;
  /** Query terms are boosted by (idf / mean idf of the query)^power; 0 = off. */
  idfPower: number;
  /**
   * Query words that no tool has also match the longer words they begin ("calc" → calculator), at `weight`,
   * where the request's own words fail (as the bridge).
   */
  prefix: { minLength: number; weight: number } | false;
  /**
   * A query word also matches the index words it begins with, of at least `minLength` letters, at `weight`:
   * tool names abbreviate ("npmDeps", "text_diff", "get_file_info" for dependencies, different, information).
   */
  abbreviations: { minLength: number; weight: number } | false;
  /** Related words of query words that no tool has, at `weight` of the word (WordNet, then trigrams); false = off. */
  bridge:
    | {
        weight: number;
        /**
         * Related words kept per word, the most telling first: a bound on the work (WordNet gives a common word
         * dozens), set above what the catalog usually has, since a word's intended sense is seldom among its rarest
         * relatives ("fact" → observation, beside item, point, general).
         */
        perWord: number;
        /** The request's unknown words are bridged when they are at least this share of its words… */
        minUnknownShare: number;
        /** …or when fewer tools than this matched, its unknown words and those of at most `maxRareTools` tools. */
        minHits: number;
        maxRareTools: number;
      }
    | false;
  /**
   * Weight of a tool's learned share (itself 0..1) when the request's words (or related words) reach the tool too;
   * 0 = off. Measured on the dev halves (one replayed as traffic, the other scored): 1.5, 2 and 3 all helped both;
   * 2 leaves a tool's own match (BM25 + name, up to 2) the equal of what it learned.
   */
  learned: number;
  /**
   * The weight for a tool found only through learned words: at most that of the server's share, so what a session
   * used can join the request's own matches but not push them out (saving ten skills after one search taught each
   * of them that search). Every learning gain on the dev halves came from tools the request also reached.
   */
  learnedAlone: number;
}

export const FIELDS = ["name", "title", "description", "params", "server"] as const;
export type FieldName = (typeof FIELDS)[number];

export const DEFAULT_RANKING: RankingOptions = {
  boost: { name: 1, title: 1, description: 1, params: 1, server: 1 },
  bm25: { k: 1.2, b: 0.7, d: 0.5 },
  serverBm25: { k: 1.2, b: 0.75, d: 0.5 },
  analyze: { filler: true, paths: true, glosses: true, places: true },
  serverBlend: 1,
  nameCoverage: 1,
  idfPower: 1,
  prefix: { minLength: 3, weight: 0.5 },
  abbreviations: { minLength: 3, weight: 0.3 },
  bridge: { weight: 0.5, perWord: 32, minUnknownShare: 0.5, minHits: 5, maxRareTools: 2 },
  learned: 2,
  learnedAlone: 1,
};

/** How much a related word counts, by its relation to the query word. */
const RELATION_WEIGHT: Record<Relation | "spelling", number> = {
  synonym: 1,
  derived: 1,
  spelling: 1,
  broader: 0.5,
  narrower: 0.5,
};
/** Trigram similarity (Dice) a catalog word needs to stand for a misspelt query word. */
const MIN_SPELLING_SIMILARITY = 0.5;
const MAX_BRIDGED_WORDS = 8;
const NO_TERMS: ReadonlySet<string> = new Set();

/** Where a hit's score came from (explain). */
export interface HitExplanation {
  /** The tool's own BM25 (scaled to the query's best), its server's share, the name bonus, the learned share. */
  parts: { tool: number; server: number; name: number; learned: number };
  /** Query terms (after analysis) matched in each field. */
  fields: Partial<Record<FieldName, string[]>>;
  /** Query terms the tool has learned from use, with their strengths. */
  learned: Array<{ term: string; strength: number }>;
  /** Related words (of the vocabulary bridge) that it matched. */
  related: string[];
}

export interface IndexHit {
  id: string;
  score: number;
  /** "lexical": matched the request's own words; "related": only words of the bridge; "learned": only learned ones. */
  match: "lexical" | "related" | "learned";
  explanation?: HitExplanation;
}

/** A query word that no tool has, and the catalog words searched in its place. */
export interface Bridged {
  word: string;
  related: string[];
}

export interface IndexSearch {
  hits: IndexHit[];
  /** How many tools matched in all (before `limit`, after `filter`). */
  total: number;
  bridged: Bridged[];
  /** Place names the request uses: it was searched for an address or place too. */
  places: string[];
}

export interface IndexSearchOptions {
  filter?: (id: string) => boolean;
  boost?: (id: string) => number | undefined;
  limit?: number;
  explain?: boolean;
}

export interface SearchIndex {
  replace(group: string, entries: IndexEntry[]): void;
  /**
   * The best `limit` hits (all by default), best first, and how many matched in all. `boost` multiplies a hit's
   * final score (a saved skill's factor, a reused skill's).
   */
  search(query: string, options?: IndexSearchOptions): IndexSearch;
  /** Replaces what a tool or skill has learned: analyzed terms and their strengths (0..1); empty or undefined forgets. */
  setLearned(id: string, learned: ReadonlyMap<string, number> | undefined): void;
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

/** A tool as minisearch indexes it: each field already analyzed, its terms joined by spaces. */
type ToolDocument = { id: string } & Record<FieldName, string>;

/** What the index keeps of a tool beside minisearch: its group, its document, and its name's terms. */
interface Indexed {
  id: string;
  /** Its place in the per-query score arrays (reused once the tool is gone). */
  slot: number;
  group: string;
  /** As given to minisearch, to be removed again exactly. */
  document: ToolDocument;
  /** The distinct terms of all fields (each counted once in the document frequencies). */
  distinct: string[];
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

function trigrams(word: string): Set<string> {
  const padded = ` ${word} `;
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  return grams;
}

interface QueryPlan {
  /** Every term searched, with its boost. */
  weights: Map<string, number>;
  /** The request's own terms (not the bridge's), with their weights before pruning. */
  own: Map<string, number>;
  prefixed: Set<string>;
  /** Terms searched only because of the bridge. */
  bridgeTerms: Set<string>;
  bridged: Bridged[];
  places: string[];
}

export function createSearchIndex(options: RankingOptions = DEFAULT_RANKING): SearchIndex {
  const a = options.analyze;
  const placeTerms: ReadonlySet<string> = new Set(terms(PLACE_WORDS, a));
  /**
   * Documents are taken out with remove (the document as it was added), never discard: discarding leaves
   * the clean-up to minisearch's vacuum, which walks the index across timers, and a search or update
   * between two of its batches broke that walk (TypeError in TreeIterator) when servers re-listed.
   */
  const analysis = { tokenize: splitAtSpaces, processTerm: asIs };
  const miniOptions = { fields: [...FIELDS], ...analysis, searchOptions: analysis, autoVacuum: false };
  let tools = new MiniSearch<ToolDocument>(miniOptions);
  /**
   * Documents not handed to minisearch yet. The first search after a large change (the catalog filled at start,
   * or from snapshots) builds minisearch's index in one pass (`fromDocuments`); `add` walks its radix tree once per
   * term occurrence, and at 10,000 tools that was most of the build. A few documents are added as usual.
   */
  const pending = new Map<string, ToolDocument>();

  /** minisearch's index of these documents, as `add` would build it, given to `loadJS` (its own serialized form). */
  function fromDocuments(documents: readonly ToolDocument[]): MiniSearch<ToolDocument> {
    // term → field → [short id, count, …] in id order; minisearch's plain objects are made once per posting list
    const postings = new Map<string, number[][]>();
    const documentIds: Record<string, string> = {};
    const fieldLength: Record<string, number[]> = {};
    const totals = FIELDS.map(() => 0);
    documents.forEach((document, shortId) => {
      documentIds[shortId] = document.id;
      fieldLength[shortId] = FIELDS.map((field, fieldId) => {
        const counts = new Map<string, number>();
        for (const term of splitAtSpaces(document[field])) counts.set(term, (counts.get(term) ?? 0) + 1);
        for (const [term, count] of counts) {
          let byField = postings.get(term);
          if (!byField) {
            byField = [];
            postings.set(term, byField);
          }
          const list = byField[fieldId];
          if (list) list.push(shortId, count);
          else byField[fieldId] = [shortId, count];
        }
        // minisearch's field length: the field's distinct terms
        totals[fieldId] = (totals[fieldId] as number) + counts.size;
        return counts.size;
      });
    });
    const index: Array<[string, Record<string, Record<string, number>>]> = [];
    for (const [term, byField] of postings) {
      const entry: Record<string, Record<string, number>> = {};
      byField.forEach((list, fieldId) => {
        const docs: Record<string, number> = {};
        for (let i = 0; i < list.length; i += 2) docs[list[i] as number] = list[i + 1] as number;
        entry[fieldId] = docs;
      });
      index.push([term, entry]);
    }
    const count = documents.length;
    return MiniSearch.loadJS<ToolDocument>(
      {
        documentCount: count,
        nextId: count,
        documentIds,
        fieldIds: Object.fromEntries(FIELDS.map((field, fieldId) => [field, fieldId])),
        fieldLength,
        averageFieldLength: totals.map((total) => (count === 0 ? 0 : total / count)),
        storedFields: {},
        dirtCount: 0,
        index,
        serializationVersion: 2,
      },
      miniOptions,
    );
  }

  /** Hands the pending documents to minisearch: rebuilt in one pass when they are as many as it holds. */
  function flush(): void {
    if (pending.size === 0) return;
    if (pending.size >= tools.documentCount)
      tools = fromDocuments([...indexed.values()].map((d) => d.document));
    else tools.addAll([...pending.values()]);
    pending.clear();
  }
  /**
   * Each server (or skills group) is scored as one document made of the distinct terms of each of its tools, so
   * its tf of a term is the number of its tools that have it: BM25 (minisearch's formula) over counts taken from
   * the tools' own postings, rather than a second index holding every term again (which doubled the build).
   * Its length: the sum of its tools' distinct terms.
   */
  const groupLength = new Map<string, number>();
  let totalGroupLength = 0;
  const indexed = new Map<string, Indexed>();
  const bySlot: Array<Indexed | undefined> = [];
  const freeSlots: number[] = [];
  /**
   * Per-query scratch, indexed by slot: the summed score, and bits of how it matched: 1 a request word (not only
   * the bridge), 2 any word, 4 a word in its name (so it may earn a name bonus).
   */
  let sums = new Float64Array(0);
  let ownMatch = new Uint8Array(0);
  const idsByGroup = new Map<string, string[]>();
  /** Term → how many tools have it, in any field (minisearch keeps its counts per field, and privately). */
  const df = new Map<string, number>();
  /** Term → tool → strength, of what tools have learned from use. */
  const learnedPostings = new Map<string, Map<string, number>>();
  const learnedBy = new Map<string, ReadonlyMap<string, number>>();
  /** Bumped whenever the statistics change, so that IDFs cached on the tools are recomputed. */
  let version = 0;
  /** Trigram → catalog terms, built when a misspelt word first needs it, for one `version`. */
  let spelling: { version: number; grams: Map<string, string[]> } | undefined;

  const idf = (term: string): number => {
    const n = indexed.size;
    const d = df.get(term) ?? 0;
    return Math.log(1 + (n - d + 0.5) / (d + 0.5));
  };

  const fields = FIELDS.filter((f) => options.boost[f] !== 0); // minisearch would read a boost of 0 as 1
  const boost = { ...options.boost };

  function toDocument(e: IndexEntry): { document: ToolDocument; nameTerms: string[]; distinct: string[] } {
    const analyzed: Record<FieldName, string[]> = {
      name: terms(e.tool, a),
      title: terms(e.title ?? "", a),
      description: terms(e.description, a),
      params: terms(paramsText(e.inputSchema), a),
      server: terms(e.server, a),
    };
    const document = { id: e.name } as ToolDocument;
    for (const f of FIELDS) document[f] = analyzed[f].join(" ");
    const distinct = [...new Set(FIELDS.flatMap((f) => analyzed[f]))];
    return { document, nameTerms: [...new Set(analyzed.name)], distinct };
  }

  function addLength(group: string, change: number): void {
    const length = (groupLength.get(group) ?? 0) + change;
    if (length > 0) groupLength.set(group, length);
    else groupLength.delete(group);
    totalGroupLength += change;
  }

  function forget(id: string): void {
    const old = indexed.get(id);
    if (!old) return;
    for (const term of old.distinct) {
      const count = (df.get(term) ?? 0) - 1;
      if (count > 0) df.set(term, count);
      else df.delete(term);
    }
    indexed.delete(id);
    addLength(old.group, -old.distinct.length);
    bySlot[old.slot] = undefined;
    freeSlots.push(old.slot);
    if (!pending.delete(id)) tools.remove(old.document);
  }

  /** Catalog words spelt like an unknown word (shared trigrams, Dice coefficient). */
  function spelledLike(word: string): Array<{ term: string; similarity: number }> {
    if (!spelling || spelling.version !== version) {
      const grams = new Map<string, string[]>();
      for (const term of df.keys()) {
        if (!/^[a-z]{4,}$/.test(term)) continue;
        for (const gram of trigrams(term)) {
          const list = grams.get(gram);
          if (list) list.push(term);
          else grams.set(gram, [term]);
        }
      }
      spelling = { version, grams };
    }
    const mine = trigrams(word);
    const shared = new Map<string, number>();
    for (const gram of mine)
      for (const term of spelling.grams.get(gram) ?? []) shared.set(term, (shared.get(term) ?? 0) + 1);
    const out: Array<{ term: string; similarity: number }> = [];
    for (const [term, count] of shared) {
      const similarity = (2 * count) / (mine.size + term.length); // " term " has term.length trigrams
      if (similarity >= MIN_SPELLING_SIMILARITY) out.push({ term, similarity });
    }
    return out.sort((x, y) => y.similarity - x.similarity).slice(0, 3);
  }

  /** Catalog terms related to a query word no tool has, with their weights relative to the word's. */
  function bridgeOf(
    word: string,
    own: ReadonlyMap<string, number>,
  ): Array<{ term: string; word: string; weight: number }> {
    const bridge = options.bridge;
    if (!bridge) return [];
    const found = new Map<string, { word: string; weight: number }>();
    for (const { word: related, relation } of relatedWords(word)) {
      const term = normalizeTerm(related, a);
      if (term === null || !df.has(term) || own.has(term)) continue;
      const weight = RELATION_WEIGHT[relation];
      if ((found.get(term)?.weight ?? 0) < weight) found.set(term, { word: related, weight });
    }
    // Spelling only for a word no tool has: a known rare word is spelt right.
    const term = normalizeTerm(word, a);
    if (found.size === 0 && /^[a-z]{4,}$/.test(word) && term !== null && !df.has(term)) {
      for (const { term, similarity } of spelledLike(word))
        if (!own.has(term)) found.set(term, { word: term, weight: similarity });
    }
    // The most telling related words first (relation weight × IDF); together they weigh what one word would, so
    // a word with many relatives does not outvote one with a single close one.
    const kept = [...found]
      .map(([term, r]) => ({ term, word: r.word, weight: r.weight, rank: r.weight * idf(term) }))
      .sort((x, y) => y.rank - x.rank)
      .slice(0, bridge.perWord);
    const total = kept.reduce((sum, r) => sum + r.weight, 0);
    return kept.map(({ term, word: shown, weight }) => ({
      term,
      word: shown,
      weight: (weight / total) * bridge.weight,
    }));
  }

  /** The query's terms with their boosts: IDF weights, abbreviations, prefixes, and the bridge. */
  function plan(text: string, places: string[], widen: boolean): QueryPlan {
    const counts = new Map<string, number>();
    const wordOf = new Map<string, string>();
    const read = places.length > 0 ? `${text} ${PLACE_WORDS}` : text;
    // The words a place name stands for are the reading's, not the request's: never bridged when no tool has them.
    const readIn = places.length > 0 ? placeTerms : NO_TERMS;
    for (const { word, term } of words(read, a)) {
      counts.set(term, (counts.get(term) ?? 0) + 1);
      if (!wordOf.has(term)) wordOf.set(term, word);
    }
    const known = [...counts.keys()].filter((t) => df.has(t));
    const meanIdf = known.reduce((sum, t) => sum + idf(t), 0) / Math.max(1, known.length);
    const weights = new Map<string, number>();
    const own = new Map<string, number>();
    const add = (term: string, weight: number) => weights.set(term, (weights.get(term) ?? 0) + weight);
    const prefixed = new Set<string>();
    const unknown: string[] = [];
    for (const [term, count] of counts) {
      let weight = 1 + Math.log(count);
      if (options.idfPower !== 0 && df.has(term)) weight *= (idf(term) / meanIdf) ** options.idfPower;
      add(term, weight);
      own.set(term, weight);
      if (!df.has(term) && !readIn.has(term)) unknown.push(term);
      const abbreviations = options.abbreviations;
      if (abbreviations) {
        for (let length = abbreviations.minLength; length < term.length; length++) {
          const shorter = term.slice(0, length);
          if (!counts.has(shorter) && df.has(shorter)) add(shorter, weight * abbreviations.weight);
        }
      }
      const prefix = options.prefix;
      // Only where the request's own words fail (the fallback pass): on the dev halves it helped one, not both.
      if (prefix && widen && term.length >= prefix.minLength && !df.has(term)) prefixed.add(term);
    }
    const bridgeTerms = new Set<string>();
    const bridged: Bridged[] = [];
    const bridge = options.bridge;
    const bridging = !bridge
      ? []
      : widen
        ? [...counts.keys()].filter((t) => (df.get(t) ?? 0) <= bridge.maxRareTools && !readIn.has(t))
        : unknown.length >= bridge.minUnknownShare * (counts.size - readIn.size)
          ? unknown
          : [];
    // A few words at most: each is a dictionary look-up, and a request may be a pasted page.
    for (const term of bridging.slice(0, MAX_BRIDGED_WORDS)) {
      const related = bridgeOf(wordOf.get(term) ?? term, own);
      if (related.length === 0) continue;
      bridged.push({ word: wordOf.get(term) ?? term, related: related.map((r) => r.word) });
      for (const r of related) {
        add(r.term, (own.get(term) ?? 1) * r.weight);
        bridgeTerms.add(r.term);
      }
    }
    return { weights, own, prefixed, bridgeTerms, bridged, places };
  }

  /**
   * One term's scores, as minisearch computes them (its BM25 per field, times the field's boost) for a search
   * of that term alone, kept until the catalog changes. A query's score is the sum of its terms' scores times
   * their boosts (minisearch's own sum, without its multiplier by the number of terms matched), so each term's
   * posting list is scored once, not on every query: the common words, matched by thousands of tools, were
   * where nearly all the time went.
   */
  interface Postings {
    slots: Int32Array;
    scores: Float64Array;
    /** 1 where the term is in the tool's name: only those can earn a name bonus. */
    inName: Uint8Array;
  }
  const termCache = new Map<string, Postings>();
  const serverCache = new Map<string, Map<string, number>>();
  let cachedAt = -1;
  let cachedPostings = 0;
  /** Bounds the cache: past this many (term, tool) pairs it starts again. */
  const MAX_CACHED_POSTINGS = 2_000_000;

  function postings(term: string, prefix: boolean): Postings {
    if (cachedAt !== version || cachedPostings > MAX_CACHED_POSTINGS) {
      termCache.clear();
      serverCache.clear();
      cachedAt = version;
      cachedPostings = 0;
    }
    const key = `${prefix ? "p" : "t"}:${term}`;
    let found = termCache.get(key);
    if (!found) {
      const results = tools.search(term, {
        fields,
        boost,
        bm25: options.bm25,
        prefix,
        weights: { prefix: options.prefix ? options.prefix.weight : 0, fuzzy: 0 },
      });
      found = {
        slots: Int32Array.from(results, (r) => indexed.get(r.id as string)?.slot ?? -1),
        scores: Float64Array.from(results, (r) => r.score),
        inName: Uint8Array.from(results, (r) =>
          Object.values(r.match).some((f) => f.includes("name")) ? 1 : 0,
        ),
      };
      termCache.set(key, found);
      cachedPostings += results.length;
    }
    return found;
  }

  function serverPostings(term: string, prefix: boolean): Map<string, number> {
    const matched = postings(term, prefix); // clears both caches when the catalog changed
    const key = `${prefix ? "p" : "t"}:${term}`;
    let found = serverCache.get(key);
    if (!found) {
      const tf = new Map<string, number>();
      for (const slot of matched.slots) {
        const group = bySlot[slot]?.group;
        if (group !== undefined) tf.set(group, (tf.get(group) ?? 0) + 1);
      }
      const groups = groupLength.size;
      const average = totalGroupLength / Math.max(1, groups);
      const { k, b, d } = options.serverBm25;
      const idfOf = Math.log(1 + (groups - tf.size + 0.5) / (tf.size + 0.5));
      found = new Map();
      for (const [group, count] of tf) {
        const length = groupLength.get(group) ?? average;
        found.set(group, idfOf * (d + (count * (k + 1)) / (count + k * (1 - b + (b * length) / average))));
      }
      serverCache.set(key, found);
      cachedPostings += found.size;
    }
    return found;
  }

  /** Each tool's learned share for the query: the weighted share of its own terms that it has learned. */
  function learnedShares(own: ReadonlyMap<string, number>): Map<string, number> {
    const shares = new Map<string, number>();
    if (options.learned === 0 || learnedPostings.size === 0) return shares;
    let total = 0;
    for (const weight of own.values()) total += weight;
    for (const [term, weight] of own) {
      const postings = learnedPostings.get(term);
      if (!postings) continue;
      for (const [id, strength] of postings)
        shares.set(id, (shares.get(id) ?? 0) + (weight / total) * strength);
    }
    return shares;
  }

  function nameShare(doc: Indexed, searched: ReadonlyMap<string, number>, prefixes: string[]): number {
    if (doc.version !== version) {
      doc.nameIdfs = doc.nameTerms.map(idf);
      doc.nameIdfSum = doc.nameIdfs.reduce((sum, value) => sum + value, 0);
      doc.version = version;
    }
    if (doc.nameIdfSum <= 0) return 0;
    let covered = 0;
    doc.nameTerms.forEach((term, i) => {
      if (searched.has(term) || prefixes.some((p) => term.startsWith(p)))
        covered += doc.nameIdfs[i] as number;
    });
    return covered / doc.nameIdfSum;
  }

  /** Where a hit's score came from: worked out again for the few hits shown, from the tool's own fields. */
  function explain(doc: Indexed, parts: HitExplanation["parts"], q: QueryPlan): HitExplanation {
    const searched = [...q.weights.keys()];
    const matches = (term: string, searchedTerm: string) =>
      term === searchedTerm || (q.prefixed.has(searchedTerm) && term.startsWith(searchedTerm));
    const byField: Partial<Record<FieldName, string[]>> = {};
    const matched = new Set<string>();
    if (parts.tool > 0) {
      for (const field of FIELDS) {
        const fieldTerms = new Set(splitAtSpaces(doc.document[field]));
        const found = searched.filter((t) => [...fieldTerms].some((term) => matches(term, t)));
        if (found.length > 0) byField[field] = found;
        for (const t of found) matched.add(t);
      }
    }
    const learned = [...q.own.keys()]
      .map((term) => ({ term, strength: learnedPostings.get(term)?.get(doc.id) ?? 0 }))
      .filter((l) => l.strength > 0)
      .map((l) => ({ term: l.term, strength: Math.round(l.strength * 100) / 100 }));
    const related = [...matched].filter((t) => q.bridgeTerms.has(t));
    return { parts, fields: byField, learned, related };
  }

  interface ScoreRequest {
    filter?: (id: string) => boolean;
    /** A factor on a tool's final score (a saved skill's, a reused skill's); 1 when undefined. */
    boost?: (id: string) => number | undefined;
    limit: number;
    explain: boolean;
  }

  /** Sums each tool's score over the plan's terms into `sums` (by slot); returns the slots touched. */
  function accumulate(q: QueryPlan): number[] {
    if (sums.length < bySlot.length) {
      sums = new Float64Array(bySlot.length * 2);
      ownMatch = new Uint8Array(bySlot.length * 2);
    }
    const touched: number[] = [];
    for (const [term, weight] of q.weights) {
      const list = postings(term, q.prefixed.has(term));
      const own = q.bridgeTerms.has(term) ? 0 : 1;
      for (let i = 0; i < list.slots.length; i++) {
        const slot = list.slots[i] as number;
        if (slot < 0) continue;
        if (sums[slot] === 0 && ownMatch[slot] === 0) touched.push(slot);
        sums[slot] = (sums[slot] as number) + weight * (list.scores[i] as number);
        ownMatch[slot] = (ownMatch[slot] as number) | own | 2 | ((list.inName[i] as number) << 2);
      }
    }
    return touched;
  }

  function clear(touched: readonly number[]): void {
    for (const slot of touched) {
      sums[slot] = 0;
      ownMatch[slot] = 0;
    }
  }

  function score(text: string, request: ScoreRequest): IndexSearch & { total: number } {
    flush();
    const places = a.places === false ? [] : placeNames(text);
    let q = plan(text, places, false);
    let touched = accumulate(q);
    // Few tools matched: the request's words are not the catalog's. Its rare words are bridged too ("folder",
    // which one saved skill uses, while the tools say "directory").
    const minHits = options.bridge ? options.bridge.minHits : 0;
    if (minHits > 0 && touched.filter((slot) => (ownMatch[slot] as number) & 1).length < minHits) {
      clear(touched);
      q = plan(text, places, true);
      touched = accumulate(q);
    }
    if (touched.length === 0 && learnedPostings.size === 0)
      return { hits: [], total: 0, bridged: q.bridged, places: q.places };
    let bestTool = 1e-9;
    for (const slot of touched) if ((sums[slot] as number) > bestTool) bestTool = sums[slot] as number;
    const serverScores = new Map<string, number>();
    let bestServer = 1e-9;
    if (options.serverBlend > 0 && touched.length > 0) {
      // A server is judged by the request's own words only: related words are guesses at one tool's wording, and
      // a server with long descriptions matches many of them by chance (memory lost to files for "remember a fact
      // about a person", files matching "individual", "point", "item"). With the bridge on every dev query, both
      // halves gained.
      for (const [term, weight] of q.weights) {
        if (q.bridgeTerms.has(term)) continue;
        for (const [group, s] of serverPostings(term, q.prefixed.has(term)))
          serverScores.set(group, (serverScores.get(group) ?? 0) + weight * s);
      }
      for (const s of serverScores.values()) if (s > bestServer) bestServer = s;
    }
    const learned = learnedShares(q.own);
    const serverShare = (group: string) =>
      (options.serverBlend * (serverScores.get(group) ?? 0)) / bestServer;
    const prefixes = [...q.prefixed];
    const learnedWeight = (matched: number) =>
      matched !== 0 ? options.learned : Math.min(options.learned, options.learnedAlone);
    const partsOf = (doc: Indexed): HitExplanation["parts"] => {
      const matched = ownMatch[doc.slot] as number;
      return {
        tool: matched !== 0 ? (sums[doc.slot] as number) / bestTool : 0,
        server: serverShare(doc.group),
        name:
          matched & 4 && options.nameCoverage > 0 && doc.nameTerms.length > 0
            ? options.nameCoverage * nameShare(doc, q.weights, prefixes)
            : 0,
        learned: learnedWeight(matched) * (learned.get(doc.id) ?? 0),
      };
    };
    // Tools that matched none of the words but learned some of them (found by what agents used) join the rest.
    const candidates = [...touched];
    for (const id of learned.keys()) {
      const doc = indexed.get(id);
      if (doc && ownMatch[doc.slot] === 0) candidates.push(doc.slot);
    }
    // Scores in typed arrays, the name bonus (the costly part) only for a tool with a request word in its name that
    // could still reach the best `limit`: a common word matches thousands of tools, and only a few are shown.
    const lower = new Float64Array(candidates.length);
    const boosts = new Float64Array(candidates.length);
    let total = 0;
    for (let i = 0; i < candidates.length; i++) {
      const doc = bySlot[candidates[i] as number] as Indexed;
      if (request.filter && !request.filter(doc.id)) {
        lower[i] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const matched = ownMatch[doc.slot] !== 0;
      const base =
        (matched ? (sums[doc.slot] as number) / bestTool : 0) +
        serverShare(doc.group) +
        learnedWeight(ownMatch[doc.slot] as number) * (learned.get(doc.id) ?? 0);
      boosts[i] = request.boost?.(doc.id) ?? 1;
      lower[i] = base * (boosts[i] as number);
      total++;
    }
    let threshold = Number.NEGATIVE_INFINITY;
    if (total > request.limit) {
      const sorted = Float64Array.from(lower).sort();
      threshold = sorted[sorted.length - request.limit] as number;
    }
    const finals = new Map<number, number>();
    for (let i = 0; i < candidates.length; i++) {
      const low = lower[i] as number;
      const boost = boosts[i] as number;
      const slot = candidates[i] as number;
      const bonus = (ownMatch[slot] as number) & 4 ? options.nameCoverage * boost : 0;
      if (low === Number.NEGATIVE_INFINITY || low + bonus < threshold) continue;
      const p = partsOf(bySlot[slot] as Indexed);
      finals.set(i, (p.tool + p.server + p.name + p.learned) * boost);
    }
    const best = [...finals.keys()];
    const idOf = (i: number) => (bySlot[candidates[i] as number] as Indexed).id;
    best.sort((x, y) => {
      const d = (finals.get(y) as number) - (finals.get(x) as number);
      return d !== 0 ? d : idOf(x) < idOf(y) ? -1 : idOf(x) > idOf(y) ? 1 : 0;
    });
    const hits: IndexHit[] = best.slice(0, request.limit).map((i) => {
      const doc = bySlot[candidates[i] as number] as Indexed;
      const own = ownMatch[doc.slot] as number;
      return {
        id: doc.id,
        score: finals.get(i) as number,
        match: own & 1 ? "lexical" : own !== 0 ? "related" : "learned",
        ...(request.explain && { explanation: explain(doc, partsOf(doc), q) }),
      };
    });
    clear(touched);
    return { hits, total, bridged: q.bridged, places: q.places };
  }

  return {
    replace(group, entries) {
      for (const id of idsByGroup.get(group) ?? []) if (indexed.get(id)?.group === group) forget(id);
      const documents = new Map<string, ReturnType<typeof toDocument>>();
      for (const entry of entries) documents.set(entry.name, toDocument(entry));
      for (const [id, { document, nameTerms, distinct }] of documents) {
        forget(id); // a tool that moved here from another group
        const slot = freeSlots.pop() ?? bySlot.length;
        const entry = {
          id,
          slot,
          group,
          document,
          distinct,
          nameTerms,
          nameIdfs: [],
          nameIdfSum: 0,
          version: -1,
        };
        indexed.set(id, entry);
        bySlot[slot] = entry;
        for (const term of distinct) df.set(term, (df.get(term) ?? 0) + 1);
        addLength(group, distinct.length);
      }
      for (const [id, { document }] of documents) pending.set(id, document);
      idsByGroup.set(group, [...documents.keys()]);
      version++;
    },
    search(query, searchOptions = {}) {
      return score(query, {
        limit: searchOptions.limit ?? Number.POSITIVE_INFINITY,
        explain: searchOptions.explain === true,
        ...(searchOptions.filter && { filter: searchOptions.filter }),
        ...(searchOptions.boost && { boost: searchOptions.boost }),
      });
    },
    setLearned(id, learned) {
      for (const term of learnedBy.get(id)?.keys() ?? []) {
        const postings = learnedPostings.get(term);
        postings?.delete(id);
        if (postings?.size === 0) learnedPostings.delete(term);
      }
      learnedBy.delete(id);
      if (!learned || learned.size === 0) return;
      learnedBy.set(id, learned);
      for (const [term, strength] of learned) {
        let postings = learnedPostings.get(term);
        if (!postings) {
          postings = new Map();
          learnedPostings.set(term, postings);
        }
        postings.set(id, Math.min(1, Math.max(0, strength)));
      }
    },
  };
}
