import { LRUCache } from "lru-cache";
import type { z } from "zod";
import type { StateStore } from "./state-store.js";

/**
 * One namespace of the store holding values of one schema: whatever is read back is parsed (another
 * instance, an older version or a hand edit may have written it), optionally with an LRU in front.
 */
export interface Records<T> {
  /** A store that fails (Redis down) is a miss, said in the log, unless the records are `strict`. */
  get(key: string): Promise<T | undefined>;
  /** Keeps the value (in the LRU at once); the promise settles when the store has it, or rejects if it failed. */
  set(key: string, value: T, ttlMs?: number): Promise<void>;
}

export interface RecordsOptions {
  /** An LRU in front of the store; `ttlMs` bounds how stale a value another instance changed may be. */
  hot?: { max: number; ttlMs: number };
  /** Bounds the namespace in the store: past it, the entries that expire first go first. */
  maxEntries?: number;
  /** A failed read throws rather than answering as a miss (a record that must not pass for absent). */
  strict?: boolean;
}

const MISS = Symbol("not in the store");

export function createRecords<T extends object>(
  store: StateStore,
  namespace: string,
  schema: z.ZodType<T>,
  options: RecordsOptions = {},
): Records<T> {
  const keyv = store.namespace<unknown>(
    namespace,
    options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries },
  );
  // Misses are remembered too: a tool never probed is asked about on every search.
  const hot =
    options.hot && new LRUCache<string, T | typeof MISS>({ max: options.hot.max, ttl: options.hot.ttlMs });
  return {
    async get(key) {
      const cached = hot?.get(key);
      if (cached !== undefined) return cached === MISS ? undefined : cached;
      let stored: unknown;
      try {
        stored = await keyv.get(key);
      } catch (error) {
        if (options.strict) throw error;
        // Not remembered as a miss: the store may answer on the next read.
        store.reportFailure(namespace, "a read failed and was answered as a miss", error);
        return undefined;
      }
      const parsed = schema.safeParse(stored);
      const found = parsed.success ? parsed.data : undefined;
      hot?.set(key, found ?? MISS);
      return found;
    },
    async set(key, value, ttlMs) {
      hot?.set(key, value);
      await keyv.set(key, value, ttlMs);
    },
  };
}
