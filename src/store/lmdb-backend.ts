import { EventEmitter } from "node:events";
import { mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import Keyv, { type KeyvStoreAdapter, type StoredData } from "keyv";
import { type Database, open } from "lmdb";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { type Backend, keyvFormat } from "./backend.js";
import { localChannels } from "./local-channels.js";

/** How often every process sharing the database drops what expired (and trims bounded namespaces). */
const PURGE_EVERY_MS = 10 * 60_000;
/** A bounded namespace is also trimmed after this many writes, so it never grows far past its bound. */
const TRIM_EVERY_WRITES = 200;
/** keyv-file's files (one JSON file per namespace), from before the store was LMDB. */
const OLD_FILES = ["runs.json", "shapes.json", "probes.json"];

/** The end of a namespace's key range: keyv's keys are `<namespace>:<key>`, and ";" sorts right after ":". */
const rangeOf = (namespace: string) => ({ start: `${namespace}:`, end: `${namespace};` });

/**
 * `file:<dir>`: an LMDB database in `<dir>/state.mdb`, opened by every gateway process on the host that uses
 * it (LMDB takes a lock file beside it; write transactions are serialized across processes). Values live in
 * one table, their expiry times in another, so purging reads small numbers rather than whole records.
 */
export function lmdbBackend(dir: string, logger: Logger): Backend {
  mkdirSync(dir, { recursive: true });
  const old = readdirSync(dir).filter((f) => OLD_FILES.includes(f));
  if (old.length > 0) {
    logger.info(
      `store ${dir}: ignoring ${old.join(", ")} (the old keyv-file format; shapes, probes and runs now live in state.mdb and are learnt afresh); delete them to silence this line`,
    );
  }
  const root = open({ path: path.join(dir, "state.mdb") });
  const values: Database<string, string> = root.openDB({ name: "values", encoding: "string" });
  const expiries: Database<number, string> = root.openDB({ name: "expiries" });
  const bounds = new Map<string, number>();

  const live = (key: string): string | undefined => {
    const expires = expiries.get(key);
    return expires !== undefined && expires <= Date.now() ? undefined : values.get(key);
  };
  const put = (key: string, value: string, ttlMs: number | undefined) => {
    values.put(key, value);
    if (ttlMs) expiries.put(key, Date.now() + ttlMs);
    else expiries.remove(key);
  };
  const remove = (key: string) => {
    values.remove(key);
    expiries.remove(key);
  };

  /** Drops expired entries of one namespace (all when none), and the earliest-expiring ones past its bound. */
  async function purge(namespace?: string): Promise<void> {
    const now = Date.now();
    const doomed: string[] = [];
    const kept = new Map<string, Array<[string, number]>>();
    for (const { key, value } of expiries.getRange(namespace ? rangeOf(namespace) : {})) {
      if (value <= now) {
        doomed.push(key);
        continue;
      }
      const ns = key.slice(0, key.indexOf(":"));
      if (!bounds.has(ns)) continue;
      const list = kept.get(ns) ?? [];
      list.push([key, value]);
      kept.set(ns, list);
    }
    for (const [ns, list] of kept) {
      const max = bounds.get(ns) ?? Number.POSITIVE_INFINITY;
      if (list.length <= max) continue;
      list.sort((a, b) => a[1] - b[1]);
      for (const [key] of list.slice(0, list.length - max)) doomed.push(key);
    }
    if (doomed.length === 0) return;
    await root.transaction(() => {
      for (const key of doomed) remove(key);
    });
  }
  const purgeLogged = (namespace?: string) =>
    purge(namespace).catch((error: unknown) =>
      logger.warn(`store ${dir}: could not purge expired entries: ${errorMessage(error)}`),
    );
  void purgeLogged();
  const timer = setInterval(() => void purgeLogged(), PURGE_EVERY_MS);
  timer.unref();

  function adapter(namespace: string): KeyvStoreAdapter {
    let writes = 0;
    const store = Object.assign(new EventEmitter(), {
      opts: { dialect: "lmdb" },
      namespace: undefined as string | undefined,
      async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
        return live(key) as StoredData<Value> | undefined;
      },
      async set(key: string, value: string, ttl?: number) {
        await root.transaction(() => put(key, value, ttl));
        if (bounds.has(namespace) && ++writes % TRIM_EVERY_WRITES === 0) void purgeLogged(namespace);
      },
      async delete(key: string) {
        return root.transaction(() => {
          const had = values.get(key) !== undefined;
          remove(key);
          return had;
        });
      },
      async clear() {
        await root.transaction(() => {
          for (const key of values.getKeys(rangeOf(namespace))) remove(key);
        });
      },
      async has(key: string) {
        return live(key) !== undefined;
      },
    });
    return store;
  }

  return {
    keyv<T>(namespace: string, maxEntries?: number) {
      if (maxEntries !== undefined) bounds.set(namespace, maxEntries);
      return new Keyv<T>({ store: adapter(namespace), namespace, ...keyvFormat });
    },
    read: async (namespace, key) => live(`${namespace}:${key}`),
    async swap(namespace, key, expected, next, ttlMs) {
      const k = `${namespace}:${key}`;
      // A write transaction: LMDB holds its writer lock across processes for its whole length. Not transactionSync:
      // blocking the thread while this process's own asynchronous writes wait for it to run their callbacks deadlocks.
      return root.transaction(() => {
        if (live(k) !== expected) return false;
        if (next === undefined) remove(k);
        else put(k, next, ttlMs);
        return true;
      });
    },
    ...localChannels(),
    async ping() {
      // A read goes through the environment (and throws once it is closed or broken).
      values.get("ping:");
    },
    async close() {
      clearInterval(timer);
      await root.close();
    },
  };
}
