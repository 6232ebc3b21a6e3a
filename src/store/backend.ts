import type Keyv from "keyv";

/**
 * One kind of store (LMDB, Redis, memory) under the state store: keyv namespaces for plain reads and writes,
 * and a raw compare-and-swap on the same entries for what must happen once (resumes, locks).
 */
export interface Backend {
  /** A keyv over one namespace; `maxEntries` bounds it, the entries that expire first going first. */
  keyv<T>(namespace: string, maxEntries?: number): Keyv<T>;
  /** The entry as keyv stored it (see `encodeEntry`), or undefined. */
  read(namespace: string, key: string): Promise<string | undefined>;
  /**
   * Atomically, across every process sharing the store: if the entry is still `expected` (undefined: absent),
   * replace it with `next` (undefined: delete it), kept for `ttlMs`. False when another writer came first.
   */
  swap(
    namespace: string,
    key: string,
    expected: string | undefined,
    next: string | undefined,
    ttlMs?: number,
  ): Promise<boolean>;
  /**
   * Tells every process sharing the store that subscribed to `channel` (Redis pub/sub; LMDB and memory: this
   * process only, as others see the same folder). Fire and forget: a lost message is made up by `onReady`.
   */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Listens on `channel`; `onReady` runs each time the subscription is (re)established, when messages sent
   * meanwhile may have been missed. Returns the way to stop.
   */
  subscribe(channel: string, listener: (message: string) => void, onReady?: () => void): () => void;
  /** Resolves when the store answers a round trip, rejects when it cannot (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What keyv keeps per entry; every backend's keyv is made with these, so `swap` can read and write the same. */
export const keyvFormat = {
  serialize: (data: unknown) => JSON.stringify(data),
  deserialize: (text: string) => JSON.parse(text),
  // Errors reach the caller (records.ts), which treats a failed read as a miss and says so once.
  throwOnErrors: true,
} as const;

export function encodeEntry(value: unknown, ttlMs?: number): string {
  return JSON.stringify({ value, expires: ttlMs ? Date.now() + ttlMs : undefined });
}

/** The value of a stored entry; undefined when absent, expired or not keyv's format. */
export function decodeEntry(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    const data: unknown = JSON.parse(raw);
    if (data === null || typeof data !== "object" || !("value" in data)) return undefined;
    const expires = "expires" in data ? data.expires : undefined;
    if (typeof expires === "number" && expires <= Date.now()) return undefined;
    return data.value;
  } catch {
    return undefined;
  }
}
