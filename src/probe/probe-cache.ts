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
  /** Writes the answers still waiting to the store (before it closes). */
  flush(): Promise<void>;
}

/**
 * How long answers wait before they go to the store together. Each write to the store is a transaction (LMDB) or a
 * round trip (Redis); a busy gateway probing many tools writes a batch instead. A cache entry lost in a crash
 * within this window only means one more call.
 */
const WRITE_BATCH_MS = 200;

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
  /** Answers not in the store yet, by key: read before the store, so an answer is served the moment it is kept. */
  let waiting = new Map<string, { tool: string; value: T }>();
  let timer: NodeJS.Timeout | undefined;

  const flush = async () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = new Map();
    await Promise.all(
      [...batch].map(([k, { tool, value }]) =>
        records.set(k, value, ttlMs).catch((error: unknown) => {
          logger.debug(`could not store the probe of ${tool}: ${errorMessage(error)}`);
        }),
      ),
    );
  };

  return {
    async get(tool, args) {
      const k = key(tool, args);
      return waiting.get(k)?.value ?? (await records.get(k));
    },
    set(tool, args, value) {
      // In the background, like the shapes: the memory copy answers at once; the store outlives a restart.
      waiting.set(key(tool, args), { tool: tool.name, value });
      timer ??= setTimeout(() => void flush(), WRITE_BATCH_MS);
      // A batch waiting must not keep the process alive; closing the gateway flushes it.
      timer.unref();
    },
    flush,
  };
}
