import { LRUCache } from "lru-cache";
import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import { terms } from "../catalog/tokenizer.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { StateStore } from "../store/state-store.js";

/**
 * Procedural memory for discovery: when a search is followed, in the same session, by a probe, a call from a
 * run or a save whose code calls tool T, the request's words are credited to T. What a tool has learned is a
 * few words with a count each; counts decay (half-life LEARN_HALF_LIFE_MS), saturate (a word's strength is
 * 1 − e^(−count/2), at most 1) and are capped per tool (MAX_WORDS, the weakest dropped), so a flood of one
 * request cannot make a tool outrank on anything but that request's own words. Credits go to the store (a
 * compare-and-set per tool), so instances sharing Redis learn from each other; each reloads every RELOAD_MS.
 */

export const LEARN_HALF_LIFE_MS = 30 * 24 * 3600 * 1000;
const MAX_WORDS = 32;
/** A word's count stops growing here: strength is then ~0.98. */
const MAX_COUNT = 8;
/** The searches of a session that a later use is credited to: the last few, within a while. */
const RECENT_SEARCHES = 3;
const RECENT_MS = 15 * 60_000;
const MAX_SESSIONS = 10_000;
const RELOAD_MS = 60_000;
const MAX_TOOLS_PER_USE = 32;
/** Tools with learned words, listed under one key so that another instance can load them all. */
const INDEX_KEY = "(tools)"; // no tool or skill can be named so
const MAX_TOOLS = 20_000;
const NAMESPACE = "learned";
const TERM = /^[\p{L}\p{N}]{1,64}$/u;

const learnedSchema = z.object({
  /** term → [count, last credited (ms since epoch)] */
  words: z.record(z.string(), z.tuple([z.number().min(0), z.number()])),
});
type LearnedRecord = z.infer<typeof learnedSchema>;
const indexSchema = z.array(z.string()).max(MAX_TOOLS);

export interface Use {
  /** Tools (or skills) used: probed, called by a run, called by a saved skill's code, or the skill run. */
  tools: string[];
  /** Words that also count for these tools: a saved skill's description. */
  text?: string;
}

export interface Learning {
  /** A search in a session: remembered for a while, for the uses that follow it. */
  searched(session: string, query: string): void;
  /** Tools used in a session: the session's recent searches are credited to them. Never rejects. */
  used(session: string, use: Use): Promise<void>;
  /** Loads what every instance has learned into the catalog; then reloads every minute until closed. */
  start(): Promise<void>;
  close(): void;
}

/** A count credited at `at`, as it stands at `now`. */
const decayed = (count: number, at: number, now: number) =>
  count * 0.5 ** (Math.max(0, now - at) / LEARN_HALF_LIFE_MS);

/** A request's (or description's) words a tool could learn: its first distinct terms (a tool keeps 32). */
const wordsOf = (text: string) => [...new Set(terms(text))].slice(0, MAX_WORDS * 2);

/** A tool's learned words as the index reads them: term → strength in 0..1, decayed to `now`. */
export function strengths(record: LearnedRecord, now: number): Map<string, number> {
  const out = new Map<string, number>();
  // The store is shared: only what terms() makes, and no more words than a tool keeps, is read back.
  for (const [term, [count, at]] of Object.entries(record.words).slice(0, MAX_WORDS)) {
    if (!TERM.test(term)) continue;
    const strength = 1 - Math.exp(-decayed(count, at, now) / 2);
    if (strength >= 0.05) out.set(term, strength);
  }
  return out;
}

/** Adds one credit of each word to a record, decaying the old counts, keeping the MAX_WORDS strongest. */
export function creditRecord(
  record: LearnedRecord | undefined,
  words: readonly string[],
  now: number,
): LearnedRecord {
  const counts = new Map<string, number>();
  for (const [term, [count, at]] of Object.entries(record?.words ?? {})) {
    counts.set(term, decayed(count, at, now));
  }
  for (const word of new Set(words)) counts.set(word, Math.min(MAX_COUNT, (counts.get(word) ?? 0) + 1));
  const kept = [...counts]
    .filter(([, count]) => count > 0.1)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_WORDS);
  const out: LearnedRecord = { words: Object.create(null) };
  for (const [term, count] of kept) out.words[term] = [Math.round(count * 1000) / 1000, now];
  return out;
}

export function createLearning(options: {
  store: StateStore;
  catalog: Catalog;
  logger: Logger;
  /** For tests and the bench: the clock. */
  now?: () => number;
}): Learning {
  const { store, catalog, logger } = options;
  const now = options.now ?? Date.now;
  const keyv = store.namespace<unknown>(NAMESPACE);
  const sessions = new LRUCache<string, Array<{ words: string[]; at: number; credited: Set<string> }>>({
    max: MAX_SESSIONS,
  });
  let timer: NodeJS.Timeout | undefined;

  function apply(tool: string, record: LearnedRecord | undefined): void {
    catalog.setLearned(tool, record ? strengths(record, now()) : undefined);
  }

  async function creditOne(tool: string, words: readonly string[], at: number): Promise<void> {
    let after: LearnedRecord | undefined;
    const { before } = await store.update<unknown>(NAMESPACE, tool, (current) => {
      const parsed = learnedSchema.safeParse(current);
      after = creditRecord(parsed.success ? parsed.data : undefined, words, at);
      return { set: after };
    });
    if (after) apply(tool, after);
    if (before === undefined) {
      await store.update<unknown>(NAMESPACE, INDEX_KEY, (current) => {
        const listed = indexSchema.safeParse(current);
        const tools = listed.success ? listed.data : [];
        if (tools.includes(tool) || tools.length >= MAX_TOOLS) return undefined;
        return { set: [...tools, tool] };
      });
    }
  }

  async function credit(words: readonly string[], tools: readonly string[], at = now()): Promise<void> {
    if (words.length === 0) return;
    await Promise.all([...new Set(tools)].map((tool) => creditOne(tool, words, at)));
  }

  async function load(): Promise<void> {
    const listed = indexSchema.safeParse(await keyv.get(INDEX_KEY));
    if (!listed.success) return;
    await Promise.all(
      listed.data.map(async (tool) => {
        const parsed = learnedSchema.safeParse(await keyv.get(tool));
        apply(tool, parsed.success ? parsed.data : undefined);
      }),
    );
  }

  return {
    searched(session, query) {
      // A request may be a pasted page: only its first distinct words are kept.
      const words = wordsOf(query);
      if (words.length === 0) return;
      const recent = (sessions.get(session) ?? []).filter((s) => now() - s.at < RECENT_MS);
      recent.push({ words, at: now(), credited: new Set() });
      sessions.set(session, recent.slice(-RECENT_SEARCHES));
    },
    async used(session, use) {
      const recent = (sessions.get(session) ?? []).filter((s) => now() - s.at < RECENT_MS);
      // A run may call hundreds of tools; the first few distinct ones are what its requests were about.
      const tools = [...new Set(use.tools)].slice(0, MAX_TOOLS_PER_USE);
      try {
        // Each search is credited to a tool once, however often the session then uses it.
        for (const search of recent) {
          const fresh = tools.filter((tool) => !search.credited.has(tool));
          for (const tool of fresh) search.credited.add(tool);
          if (fresh.length > 0) await credit(search.words, fresh);
        }
        if (use.text) await credit(wordsOf(use.text), tools);
      } catch (error) {
        store.reportFailure(NAMESPACE, "a use could not be learned", error);
        logger.debug(`learning: ${errorMessage(error)}`);
      }
    },
    async start() {
      try {
        await load();
      } catch (error) {
        store.reportFailure(NAMESPACE, "what was learned could not be loaded", error);
      }
      timer = setInterval(() => {
        load().catch((error: unknown) =>
          store.reportFailure(NAMESPACE, "what was learned could not be reloaded", error),
        );
      }, RELOAD_MS);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
