/**
 * A small BM25F index, updated one server at a time.
 *
 * Each document (a tool or a skill) has a few fields of terms; a term's frequency in a document is the
 * weighted sum of its length-normalized frequencies in the fields (BM25F), saturated once with k1.
 * Every server is also a document of its own — the bag of all its tools' terms — scored with plain BM25
 * over the servers, so that a query can be matched against what a server as a whole is about.
 * Statistics (document frequency, average lengths) are read at query time, so replacing one server's
 * documents is cheap and never rebuilds the rest.
 */

export const FIELDS = ["name", "title", "description", "params", "server"] as const;
export type FieldName = (typeof FIELDS)[number];

export interface FieldParams {
  weight: number;
  /** Length normalization, 0 (none) to 1 (full). */
  b: number;
}

export interface Bm25fParams {
  k1: number;
  fields: Record<FieldName, FieldParams>;
  /** k1 and b of the server-level BM25. */
  serverK1: number;
  serverB: number;
}

export interface DocumentInput {
  id: string;
  server: string;
  /** Terms of each field, already analyzed; a term may repeat. */
  fields: Record<FieldName, string[]>;
}

export interface IndexedDoc {
  readonly id: string;
  readonly server: string;
  /** Position in the score accumulator; reused after the document is removed. */
  readonly slot: number;
  readonly lengths: Float64Array;
  /** The distinct terms of the name field. */
  readonly nameTerms: string[];
  /** The distinct terms of all fields. */
  readonly terms: string[];
}

interface Posting {
  doc: IndexedDoc;
  tf: Float64Array;
}

interface ServerDoc {
  length: number;
  /** Term → how many of the server's tools have it (in any field). */
  counts: Map<string, number>;
}

export interface WeightedTerm {
  term: string;
  weight: number;
}

const FIELD_COUNT = FIELDS.length;

export class Bm25fIndex {
  private readonly docs = new Map<string, IndexedDoc>();
  private readonly bySlot: Array<IndexedDoc | undefined> = [];
  private readonly freeSlots: number[] = [];
  private readonly postings = new Map<string, Map<number, Posting>>();
  private readonly idsByServer = new Map<string, string[]>();
  private readonly totalLengths = new Float64Array(FIELD_COUNT);
  private readonly servers = new Map<string, ServerDoc>();
  /** Term → server → count of that server's tools with the term. */
  private readonly serverPostings = new Map<string, Map<string, number>>();
  private totalServerLength = 0;
  private sortedVocabulary: string[] | null = null;
  private accumulator = new Float64Array(0);

  constructor(readonly params: Bm25fParams) {}

  get size(): number {
    return this.docs.size;
  }

  /** Replaces every document of one server. */
  replace(server: string, inputs: DocumentInput[]): void {
    for (const id of this.idsByServer.get(server) ?? []) this.remove(id);
    this.removeServer(server);
    const ids: string[] = [];
    const serverCounts = new Map<string, number>();
    let serverLength = 0;
    for (const input of inputs) {
      if (this.docs.has(input.id)) this.remove(input.id);
      const lengths = new Float64Array(FIELD_COUNT);
      const tfs = new Map<string, Float64Array>();
      FIELDS.forEach((field, f) => {
        const terms = input.fields[field];
        lengths[f] = terms.length;
        this.totalLengths[f] = (this.totalLengths[f] as number) + terms.length;
        serverLength += terms.length;
        for (const term of terms) {
          let tf = tfs.get(term);
          if (!tf) {
            tf = new Float64Array(FIELD_COUNT);
            tfs.set(term, tf);
          }
          tf[f] = (tf[f] as number) + 1;
        }
      });
      const slot = this.freeSlots.pop() ?? this.bySlot.length;
      const doc: IndexedDoc = {
        id: input.id,
        server: input.server,
        slot,
        lengths,
        nameTerms: [...new Set(input.fields.name)],
        terms: [...tfs.keys()],
      };
      this.bySlot[slot] = doc;
      for (const [term, tf] of tfs) {
        let list = this.postings.get(term);
        if (!list) {
          list = new Map();
          this.postings.set(term, list);
          this.sortedVocabulary = null;
        }
        list.set(slot, { doc, tf });
        serverCounts.set(term, (serverCounts.get(term) ?? 0) + 1);
      }
      this.docs.set(input.id, doc);
      ids.push(input.id);
    }
    this.idsByServer.set(server, ids);
    if (ids.length > 0) {
      this.servers.set(server, { length: serverLength, counts: serverCounts });
      this.totalServerLength += serverLength;
      for (const [term, count] of serverCounts) {
        let list = this.serverPostings.get(term);
        if (!list) {
          list = new Map();
          this.serverPostings.set(term, list);
        }
        list.set(server, count);
      }
    }
  }

  private remove(id: string): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    for (const term of doc.terms) {
      const list = this.postings.get(term);
      list?.delete(doc.slot);
      if (list?.size === 0) {
        this.postings.delete(term);
        this.sortedVocabulary = null;
      }
    }
    doc.lengths.forEach((length, f) => {
      this.totalLengths[f] = (this.totalLengths[f] as number) - length;
    });
    this.docs.delete(id);
    this.bySlot[doc.slot] = undefined;
    this.freeSlots.push(doc.slot);
  }

  private removeServer(server: string): void {
    const old = this.servers.get(server);
    if (!old) return;
    for (const term of old.counts.keys()) {
      const list = this.serverPostings.get(term);
      list?.delete(server);
      if (list?.size === 0) this.serverPostings.delete(term);
    }
    this.totalServerLength -= old.length;
    this.servers.delete(server);
  }

  /** How many documents have the term. */
  df(term: string): number {
    return this.postings.get(term)?.size ?? 0;
  }

  idf(term: string): number {
    const n = this.docs.size;
    const df = this.df(term);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** Index terms that start with `prefix` (not the prefix itself). */
  withPrefix(prefix: string): string[] {
    if (!this.sortedVocabulary) this.sortedVocabulary = [...this.postings.keys()].sort();
    const vocabulary = this.sortedVocabulary;
    let lo = 0;
    let hi = vocabulary.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((vocabulary[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < vocabulary.length; i++) {
      const term = vocabulary[i] as string;
      if (!term.startsWith(prefix)) break;
      if (term !== prefix) out.push(term);
    }
    return out;
  }

  /** BM25F score of every document that has at least one of the terms (unordered). */
  scoreDocuments(terms: WeightedTerm[]): Array<{ doc: IndexedDoc; score: number }> {
    const n = this.docs.size;
    if (n === 0) return [];
    if (this.accumulator.length < this.bySlot.length)
      this.accumulator = new Float64Array(this.bySlot.length * 2);
    const acc = this.accumulator;
    const touched: number[] = [];
    const { k1, fields } = this.params;
    const weights = FIELDS.map((f) => fields[f].weight);
    const bs = FIELDS.map((f) => fields[f].b);
    const averages = FIELDS.map((_, f) => Math.max(1e-9, (this.totalLengths[f] as number) / n));
    // Per field: tf is divided by (1 - b + b * length / average) = base + slope * length.
    const base = bs.map((b) => 1 - b);
    const slope = bs.map((b, f) => b / (averages[f] as number));
    for (const { term, weight } of terms) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.size + 0.5) / (list.size + 0.5));
      const factor = weight * idf * (k1 + 1);
      for (const { doc, tf } of list.values()) {
        let tfn = 0;
        for (let f = 0; f < FIELD_COUNT; f++) {
          const count = tf[f] as number;
          if (count !== 0) {
            tfn +=
              ((weights[f] as number) * count) /
              ((base[f] as number) + (slope[f] as number) * (doc.lengths[f] as number));
          }
        }
        const slot = doc.slot;
        if (acc[slot] === 0) touched.push(slot);
        acc[slot] = (acc[slot] as number) + (factor * tfn) / (k1 + tfn);
      }
    }
    const out: Array<{ doc: IndexedDoc; score: number }> = [];
    for (const slot of touched) {
      const doc = this.bySlot[slot];
      if (doc && (acc[slot] as number) > 0) out.push({ doc, score: acc[slot] as number });
      acc[slot] = 0;
    }
    return out;
  }

  /** BM25 score of every server whose tools have at least one of the terms. */
  scoreServers(terms: WeightedTerm[]): Map<string, number> {
    const scores = new Map<string, number>();
    const n = this.servers.size;
    if (n === 0) return scores;
    const { serverK1: k1, serverB: b } = this.params;
    const average = Math.max(1e-9, this.totalServerLength / n);
    for (const { term, weight } of terms) {
      const list = this.serverPostings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.size + 0.5) / (list.size + 0.5));
      for (const [server, count] of list) {
        const length = this.servers.get(server)?.length ?? average;
        const tf = count / (1 - b + (b * length) / average);
        scores.set(server, (scores.get(server) ?? 0) + (weight * idf * tf * (k1 + 1)) / (k1 + tf));
      }
    }
    return scores;
  }
}
