import Keyv from "keyv";
import { type Backend, keyvFormat } from "./backend.js";
import { localChannels } from "./local-channels.js";

/**
 * One namespace in memory: a Map that keyv uses as it is, kept to `max` entries (the oldest write goes first)
 * and rid of expired entries as it grows, so a long-lived `memory:` gateway stays bounded.
 */
class BoundedMap extends Map<string, string> {
  private readonly expiries = new Map<string, number>();
  private writes = 0;

  constructor(private readonly max: number) {
    super();
  }

  override set(key: string, value: string, ttlMs?: number): this {
    // Re-inserted, so insertion order is the order of last writes.
    super.delete(key);
    super.set(key, value);
    if (ttlMs) this.expiries.set(key, Date.now() + ttlMs);
    else this.expiries.delete(key);
    if (++this.writes % 100 === 0) this.purgeExpired();
    for (const oldest of this.keys()) {
      if (this.size <= this.max) break;
      this.delete(oldest);
    }
    return this;
  }

  override delete(key: string): boolean {
    this.expiries.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    this.expiries.clear();
    super.clear();
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [key, expires] of this.expiries) if (expires <= now) this.delete(key);
  }
}

/** `memory:`: one process, forgotten on exit; a swap is atomic because nothing else touches the Map between its steps. */
export function memoryBackend(): Backend {
  const maps = new Map<string, BoundedMap>();
  const mapOf = (namespace: string, maxEntries = Number.POSITIVE_INFINITY) => {
    let map = maps.get(namespace);
    if (!map) {
      map = new BoundedMap(maxEntries);
      maps.set(namespace, map);
    }
    return map;
  };
  // keyv prefixes each key with its namespace.
  const rawKey = (namespace: string, key: string) => `${namespace}:${key}`;
  return {
    keyv: <T>(namespace: string, maxEntries?: number) =>
      new Keyv<T>({ store: mapOf(namespace, maxEntries), namespace, ...keyvFormat }),
    read: async (namespace, key) => mapOf(namespace).get(rawKey(namespace, key)),
    async swap(namespace, key, expected, next, ttlMs) {
      const map = mapOf(namespace);
      const k = rawKey(namespace, key);
      if (map.get(k) !== expected) return false;
      if (next === undefined) map.delete(k);
      else map.set(k, next, ttlMs);
      return true;
    },
    ...localChannels(),
    async ping() {},
    async close() {},
  };
}
