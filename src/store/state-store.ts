import type Keyv from "keyv";
import { errorMessage, SkillsmithError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { type Backend, decodeEntry, encodeEntry } from "./backend.js";
import { displayUrl } from "./display-url.js";
import { lmdbBackend } from "./lmdb-backend.js";
import { memoryBackend } from "./memory-backend.js";
import { redisBackend } from "./redis-backend.js";
import { type Lock, lockIn } from "./store-lock.js";

/** What a compare-and-set does with the entry it saw: replace it, delete it, or leave it (undefined). */
export type Change<T> = { set: T; ttlMs?: number } | { delete: true } | undefined;

/**
 * Where Skillsmith keeps what it learns (observed shapes, probe cache, run records) and what must happen once.
 * `file:<dir>` is an LMDB database in that folder (the embedded default, shared by the processes of one host);
 * `redis://…` lets instances on several hosts share state; `memory:` forgets everything on exit.
 */
export interface StateStore {
  /** Plain reads and writes; `maxEntries` bounds the namespace, the entries that expire first going first. */
  namespace<T>(name: string, options?: { maxEntries?: number }): Keyv<T>;
  /**
   * A compare-and-set on one entry, atomic across every process sharing the store. `change` sees the value
   * (undefined when absent or expired) and must be synchronous and pure: when another writer changes the entry
   * between its read and its write, it is asked again with the new value. Resolves to the value it last saw and
   * whether its change went in.
   */
  update<T>(
    namespace: string,
    key: string,
    change: (current: T | undefined) => Change<T>,
  ): Promise<{ before: T | undefined; changed: boolean }>;
  /** Takes a named lock held across every process sharing the store (see store-lock.ts). */
  lock(name: string, options?: { ttlMs?: number; waitMs?: number }): Promise<Lock>;
  /** Says, at most once a minute per namespace, that the store failed and what was done instead. */
  reportFailure(namespace: string, what: string, error: unknown): void;
  /** Pub/sub between the processes sharing the store (see Backend.publish). */
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: (message: string) => void, onReady?: () => void): () => void;
  /** Whether other hosts may share this store (Redis): then skills live in it, not only in a folder. */
  readonly shared: boolean;
  /** Resolves when the store answers a round trip (within its command timeout), rejects with why not. */
  ping(): Promise<void>;
  /** The store's URL as shown in messages: a password in it is hidden. */
  readonly url: string;
  close(): Promise<void>;
}

export interface StateStoreOptions {
  /** Told of every failure reported (metrics); the log hears of them at most once a minute. */
  onFailure?: (namespace: string) => void;
}

/** A compare-and-set that keeps losing means something rewrites the entry in a loop: give up, clearly. */
const MAX_ATTEMPTS = 100;
const REPORT_EVERY_MS = 60_000;

function backendFor(url: string, logger: Logger): Backend {
  if (url.startsWith("file:")) return lmdbBackend(url.slice("file:".length), logger);
  if (url.startsWith("redis://") || url.startsWith("rediss://")) return redisBackend(url, logger);
  if (url.startsWith("memory:")) return memoryBackend();
  throw new SkillsmithError(
    "CONFIG_INVALID",
    `Unknown store "${displayUrl(url)}": use file:<dir>, redis://host:port or memory:`,
    { store: displayUrl(url) },
  );
}

export function createStateStore(
  url: string,
  logger: Logger = silentLogger,
  options: StateStoreOptions = {},
): StateStore {
  const backend = backendFor(url, logger);
  const namespaces = new Map<string, Keyv>();
  const reported = new Map<string, number>();

  const store: StateStore = {
    url: displayUrl(url),
    namespace<T>(name: string, options: { maxEntries?: number } = {}) {
      let keyv = namespaces.get(name);
      if (!keyv) {
        keyv = backend.keyv<unknown>(name, options.maxEntries);
        namespaces.set(name, keyv);
      }
      return keyv as Keyv<T>;
    },
    async update<T>(namespace: string, key: string, change: (current: T | undefined) => Change<T>) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const raw = await backend.read(namespace, key);
        const before = decodeEntry(raw) as T | undefined;
        const next = change(before);
        if (next === undefined) return { before, changed: false };
        const encoded = "delete" in next ? undefined : encodeEntry(next.set, next.ttlMs);
        const ttlMs = "delete" in next ? undefined : next.ttlMs;
        if (await backend.swap(namespace, key, raw, encoded, ttlMs)) return { before, changed: true };
      }
      throw new Error(
        `store ${store.url}: "${namespace}/${key}" kept changing under ${MAX_ATTEMPTS} compare-and-set attempts`,
      );
    },
    lock: (name, options) => lockIn(store, name, options),
    reportFailure(namespace, what, error) {
      options.onFailure?.(namespace);
      const last = reported.get(namespace) ?? 0;
      if (Date.now() - last < REPORT_EVERY_MS) return;
      reported.set(namespace, Date.now());
      logger.warn(`store ${store.url} (${namespace}): ${what}: ${errorMessage(error)}`);
    },
    ping: () => backend.ping(),
    publish: (channel, message) => backend.publish(channel, message),
    subscribe: (channel, listener, onReady) => backend.subscribe(channel, listener, onReady),
    shared: url.startsWith("redis://") || url.startsWith("rediss://"),
    async close() {
      await backend.close();
    },
  };
  return store;
}
