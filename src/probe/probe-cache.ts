import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { z } from "zod";
import { canonicalJson, type ToolRecord } from "../catalog/tool-record.js";
import type { StateStore } from "../store/state-store.js";

/** Answers of read-only probes, by tool definition and arguments: an LRU in memory in front of the store, both with a TTL. */
export interface ProbeCache<T> {
  get(tool: ToolRecord, args: Record<string, unknown>): Promise<T | undefined>;
  set(tool: ToolRecord, args: Record<string, unknown>, value: T): void;
}

export function createProbeCache<T extends object>(
  store: StateStore,
  ttlMs: number,
  schema: z.ZodType<T>,
): ProbeCache<T> {
  const keyv = store.namespace<unknown>("probes");
  const hot = new LRUCache<string, T>({ max: 500, ttl: ttlMs });
  const key = (tool: ToolRecord, args: Record<string, unknown>) =>
    createHash("sha256")
      .update(`${tool.name}#${tool.hash}#${canonicalJson(args)}`)
      .digest("hex");
  return {
    async get(tool, args) {
      const k = key(tool, args);
      const hit = hot.get(k);
      if (hit !== undefined) return hit;
      const stored = schema.safeParse(await keyv.get(k));
      if (!stored.success) return undefined;
      hot.set(k, stored.data);
      return stored.data;
    },
    set(tool, args, value) {
      const k = key(tool, args);
      hot.set(k, value);
      // In the background, like the shapes: the memory copy answers at once; the store outlives a restart.
      keyv.set(k, value, ttlMs).catch(() => {});
    },
  };
}
