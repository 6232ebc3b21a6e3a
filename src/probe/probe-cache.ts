import { createHash } from "node:crypto";
import type { z } from "zod";
import { canonicalJson, type ToolRecord } from "../catalog/tool-record.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { createRecords } from "../store/records.js";
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
  logger: Logger,
): ProbeCache<T> {
  // Bounded in the store too: distinct arguments are unbounded, each probe answer is kept until its TTL.
  const records = createRecords(store, "probes", schema, { hot: { max: 500, ttlMs }, maxEntries: 10_000 });
  const key = (tool: ToolRecord, args: Record<string, unknown>) =>
    createHash("sha256")
      .update(`${tool.name}#${tool.hash}#${canonicalJson(args)}`)
      .digest("hex");
  return {
    get: (tool, args) => records.get(key(tool, args)),
    set(tool, args, value) {
      // In the background, like the shapes: the memory copy answers at once; the store outlives a restart.
      records.set(key(tool, args), value, ttlMs).catch((error: unknown) => {
        logger.debug(`could not store the probe of ${tool.name}: ${errorMessage(error)}`);
      });
    },
  };
}
