import { writeFile } from "node:fs/promises";
import path from "node:path";
import { open } from "lmdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Logger } from "../../src/logger.js";
import { createRecords } from "../../src/store/records.js";
import { createStateStore, type StateStore } from "../../src/store/state-store.js";
import { removeDir, tempDir } from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function collectingLogger(lines: string[]): Logger {
  const keep = (m: string) => lines.push(m);
  return { debug() {}, info: keep, warn: keep, error: keep };
}

/** The same checks on every kind of store; `open` gives two handles on one store (two processes, as it were). */
function behavesAsAStore(kind: string, open: () => Promise<[StateStore, StateStore, () => Promise<void>]>) {
  describe(`the ${kind} store`, () => {
    let a: StateStore;
    let b: StateStore;
    let done: () => Promise<void>;
    beforeAll(async () => {
      [a, b, done] = await open();
    });
    afterAll(async () => {
      await a?.close();
      if (b !== a) await b?.close();
      await done?.();
    });

    it("reads back what it kept, and nothing once it expired", async () => {
      await a.namespace("things").set("kept", { n: 1 });
      await a.namespace("things").set("brief", { n: 2 }, 30);
      expect(await b.namespace("things").get("kept")).toEqual({ n: 1 });
      await sleep(60);
      expect(await b.namespace("things").get("brief")).toBeUndefined();
      expect((await b.update("things", "brief", () => undefined)).before).toBeUndefined();
    });

    it("applies every one of many concurrent compare-and-sets from two handles exactly once", async () => {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).update<number>("counters", "c", (n) => ({ set: (n ?? 0) + 1 })),
        ),
      );
      expect(await a.namespace("counters").get("c")).toBe(40);
    });

    it("lets one holder at a time into a lock, across handles", async () => {
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const lock = await (i % 2 ? a : b).lock("one-at-a-time");
          inside++;
          most = Math.max(most, inside);
          await sleep(2);
          inside--;
          await lock.release();
        }),
      );
      expect(most).toBe(1);
    });

    it("deletes through a compare-and-set, and refuses one that saw an older value", async () => {
      await a.update("things", "gone", () => ({ set: "x" }));
      const first = await a.update<string>("things", "gone", (v) =>
        v === "x" ? { delete: true } : undefined,
      );
      const second = await b.update<string>("things", "gone", (v) =>
        v === "x" ? { delete: true } : undefined,
      );
      expect([first.changed, second.changed]).toEqual([true, false]);
      expect(await b.namespace("things").get("gone")).toBeUndefined();
    });
  });
}

behavesAsAStore("memory", async () => {
  const store = createStateStore("memory:");
  return [store, store, async () => {}];
});

behavesAsAStore("file (LMDB)", async () => {
  const dir = await tempDir();
  return [createStateStore(`file:${dir}`), createStateStore(`file:${dir}`), () => removeDir(dir)];
});

describe.skipIf(!hasRedis)("with redis-server", () => {
  behavesAsAStore("Redis", async () => {
    const redis = await startRedis();
    return [createStateStore(redis.url), createStateStore(redis.url), () => redis.stop()];
  });
});
if (!hasRedis) console.warn("redis-server is not installed: the Redis store tests are skipped");

describe("the file store (LMDB) on disk", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => removeDir(dir));

  it("says once that it ignores the old keyv-file state, and purges expired entries from disk", async () => {
    await writeFile(path.join(dir, "runs.json"), '{"cache":[]}');
    const lines: string[] = [];
    const first = createStateStore(`file:${dir}`, collectingLogger(lines));
    await first.namespace("probes").set("old", { v: 1 }, 20);
    await first.namespace("probes").set("fresh", { v: 2 });
    await first.close();
    expect(lines.filter((l) => l.includes("runs.json"))).toHaveLength(1);
    expect(lines[0]).toMatch(/ignoring runs\.json .*keyv-file/);
    await sleep(40);
    const second = createStateStore(`file:${dir}`);
    const raw = open({ path: path.join(dir, "state.mdb") });
    const values = raw.openDB<string, string>({ name: "values", encoding: "string" });
    // Purged at open, in the background.
    await waitFor(() => values.get("probes:old") === undefined, "the expired entry to be purged");
    expect(values.get("probes:fresh")).toBeDefined();
    await raw.close();
    await second.close();
  });

  it("keeps a bounded namespace near its bound, dropping the entries that expire first", async () => {
    const store = createStateStore(`file:${dir}`);
    const records = createRecords(store, "bounded", z.object({ i: z.int() }), { maxEntries: 10 });
    for (let i = 0; i < 250; i++) await records.set(`k${i}`, { i }, 60_000 + i);
    await waitFor(async () => (await records.get("k0")) === undefined, "the oldest entries to be trimmed");
    expect(await records.get("k249")).toEqual({ i: 249 });
    expect(await records.get("k150")).toBeUndefined();
    await store.close();
  });
});

describe.skipIf(!hasRedis)("a Redis store that goes down", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it("answers reads as misses at once, logged once, and refuses compare-and-sets with Redis's error", async () => {
    const lines: string[] = [];
    const store = createStateStore(redis.url, collectingLogger(lines));
    const records = createRecords(store, "shapes", z.object({ v: z.int() }));
    await records.set("t", { v: 1 });
    expect(await records.get("t")).toEqual({ v: 1 });
    await redis.stop();
    // Each read fails fast (no offline queue, short timeouts): ten of them end well within the test's timeout.
    for (let i = 0; i < 10; i++) expect(await records.get(`t${i}`)).toBeUndefined();
    await expect(records.set("t", { v: 2 })).rejects.toThrow();
    await expect(store.update("runs", "r", () => ({ set: 1 }))).rejects.toThrow();
    expect(lines.filter((l) => l.includes("answered as a miss"))).toHaveLength(1);
    const strict = createRecords(store, "runs", z.object({ v: z.int() }), { strict: true });
    await expect(strict.get("r")).rejects.toThrow();
    redis = await startRedis(redis.port);
    await waitFor(
      async () =>
        (await records.get("back")) === undefined && lines.some((l) => l.includes("connected again")),
      "the store to reconnect",
    );
    await store.close();
  }, 20_000);
});
