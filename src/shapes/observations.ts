import { LRUCache } from "lru-cache";
import { z } from "zod";
import type { ToolRecord } from "../catalog/tool-record.js";
import type { StateStore } from "../store/state-store.js";
import { isEmptyValue, mergeShapes, type Shape, shapeOf, shapeSchema } from "./shape.js";

/**
 * The memory of what each tool really returns: the observed shape, merged across every answer seen
 * (probes and skill calls), pinned to the hash of the definition it was seen under.
 */
const observationSchema = z.object({
  tool: z.string(),
  hash: z.string(),
  shape: shapeSchema,
  count: z.number(),
  updatedAt: z.string(),
});

export type Observation = z.infer<typeof observationSchema>;

export interface Observations {
  /** Merges the shape of one answer into the tool's memory (persisted in the background); empty answers teach nothing. */
  record(tool: ToolRecord, value: unknown): Promise<Shape | undefined>;
  get(tool: ToolRecord): Promise<Observation | undefined>;
}

export function createObservations(store: StateStore): Observations {
  const keyv = store.namespace<unknown>("shapes");
  // A short TTL keeps search fast while other gateway instances on a shared store still get seen.
  const hot = new LRUCache<string, Observation | "none">({ max: 5000, ttl: 30_000 });

  async function load(tool: ToolRecord): Promise<Observation | undefined> {
    const cached = hot.get(tool.name);
    if (cached !== undefined) return cached === "none" ? undefined : cached;
    const parsed = observationSchema.safeParse(await keyv.get(tool.name));
    const found = parsed.success ? parsed.data : undefined;
    hot.set(tool.name, found ?? "none");
    return found;
  }

  // Answers of one tool arrive concurrently (parallel calls in a skill): merge them one at a time, none lost.
  const merging = new Map<string, Promise<unknown>>();

  async function merge(tool: ToolRecord, seen: Shape): Promise<Shape> {
    const before = await load(tool);
    // A changed definition may answer differently: start its memory afresh.
    const shape = before && before.hash === tool.hash ? mergeShapes(before.shape, seen) : seen;
    const observation: Observation = {
      tool: tool.name,
      hash: tool.hash,
      shape,
      count: before && before.hash === tool.hash ? before.count + 1 : 1,
      updatedAt: new Date().toISOString(),
    };
    hot.set(tool.name, observation);
    // Persisted in the background: the answer must not wait on a disk or Redis write (the store logs failures).
    keyv.set(tool.name, observation).catch(() => {});
    return shape;
  }

  return {
    record(tool, value) {
      if (isEmptyValue(value)) return Promise.resolve(undefined);
      const seen = shapeOf(value);
      const next = (merging.get(tool.name) ?? Promise.resolve()).then(() => merge(tool, seen));
      const settled = next.catch(() => {});
      merging.set(tool.name, settled);
      void settled.then(() => {
        if (merging.get(tool.name) === settled) merging.delete(tool.name);
      });
      return next;
    },
    async get(tool) {
      const found = await load(tool);
      return found && found.hash === tool.hash ? found : undefined;
    },
  };
}
