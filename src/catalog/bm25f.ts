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

export const FIELDS = ["name", "lead", "description", "params", "server"] as const;
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

interface Doc {
  id: string;
  server: string;
  lengths: Float64Array;
  /** The distinct terms of the name field. */
  nameTerms: string[];
}

interface Posting {
  doc: Doc;
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
  private readonly docs = new Map<string, Doc>();
  private readonly postings = new Map<string, Map<string, Posting>>();
  private readonly docTerms = new Map<string, string[]>();
  private readonly idsByServer = new Map<string, string[]>();
  private readonly totalLengths = new Float64Array(FIELD_COUNT);
  private readonly servers = new Map<string, ServerDoc>();
  /** Term → server → count of that server's tools with the term. */
  private readonly serverPostings = new Map<string, Map<string, number>>();
  private totalServerLength = 0;
  private sortedVocabulary: string[] | null = null;

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
      const doc: Doc = {
        id: input.id,
        server: input.server,
        lengths: new Float64Array(FIELD_COUNT),
        nameTerms: [...new Set(input.fields.name)],
      };
      const tfs = new Map<string, Float64Array>();
      FIELDS.forEach((field, f) => {
        const terms = input.fields[field];
        doc.lengths[f] = terms.length;
        this.totalLengths[f] = (this.totalLengths[f] ?? 0) + terms.length;
        for (const term of terms) {
          let tf = tfs.get(term);
          if (!tf) {
            tf = new Float64Array(FIELD_COUNT);
            tfs.set(term, tf);
          }
          tf[f] = (tf[f] ?? 0) + 1;
        }
      });
      for (const [term, tf] of tfs) {
        let list = this.postings.get(term);
        if (!list) {
          list = new Map();
          this.postings.set(term, list);
          this.sortedVocabulary = null;
        }
        list.set(input.id, { doc, tf });
        serverCounts.set(term, (serverCounts.get(term) ?? 0) + 1);
      }
      for (const f of doc.lengths) serverLength += f;
      this.docs.set(input.id, doc);
      this.docTerms.set(input.id, [...tfs.keys()]);
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
    for (const term of this.docTerms.get(id) ?? []) {
      const list = this.postings.get(term);
      list?.delete(id);
      if (list?.size === 0) {
        this.postings.delete(term);
        this.sortedVocabulary = null;
      }
    }
    doc.lengths.forEach((length, f) => {
      this.totalLengths[f] = (this.totalLengths[f] ?? 0) - length;
    });
    this.docs.delete(id);
    this.docTerms.delete(id);
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

  /** BM25F score of every document that has at least one of the terms. */
  scoreDocuments(terms: WeightedTerm[], accumulate = new Map<string, number>()): Map<string, number> {
    const n = this.docs.size;
    if (n === 0) return accumulate;
    const { k1, fields } = this.params;
    const weights = FIELDS.map((f) => fields[f].weight);
    const bs = FIELDS.map((f) => fields[f].b);
    const averages = FIELDS.map((_, f) => Math.max(1e-9, (this.totalLengths[f] ?? 0) / n));
    for (const { term, weight } of terms) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.size + 0.5) / (list.size + 0.5));
      for (const [id, { doc, tf }] of list) {
        let tfn = 0;
        for (let f = 0; f < FIELD_COUNT; f++) {
          const count = tf[f] as number;
          if (count === 0) continue;
          const b = bs[f] as number;
          tfn += ((weights[f] as number) * count) / (1 - b + (b * (doc.lengths[f] as number)) / (averages[f] as number));
        }
        const score = (weight * idf * tfn * (k1 + 1)) / (k1 + tfn);
        accumulate.set(id, (accumulate.get(id) ?? 0) + score);
      }
    }
    return accumulate;
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

  /** IDF-weighted share of a document's name terms that are among `present`. */
  nameCoverage(id: string, present: ReadonlySet<string>): number {
    const doc = this.docs.get(id);
    if (!doc || doc.nameTerms.length === 0) return 0;
    let covered = 0;
    let total = 0;
    for (const term of doc.nameTerms) {
      const idf = this.idf(term);
      total += idf;
      if (present.has(term)) covered += idf;
    }
    return total === 0 ? 0 : covered / total;
  }

  /** Terms found in at least `minShare` of the documents that have `term` (excluding very common ones). */
  associated(term: string, minShare: number, top: number): string[] {
    const list = this.postings.get(term);
    if (!list || list.size < 2) return [];
    const counts = new Map<string, number>();
    for (const id of list.keys()) for (const u of this.docTerms.get(id) ?? []) counts.set(u, (counts.get(u) ?? 0) + 1);
    const n = this.docs.size;
    return [...counts]
      .filter(([u, c]) => u !== term && c >= minShare * list.size && this.df(u) < 0.05 * n && c >= 2)
      .map(([u, c]) => [u, (c / list.size) * this.idf(u)] as const)
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([u]) => u);
  }

  serverOf(id: string): string | undefined {
    return this.docs.get(id)?.server;
  }
}
