import { z } from "zod";
import type { ToolRecord } from "../catalog/tool-record.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { createRecords } from "../store/records.js";
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

export function createObservations(store: StateStore, logger: Logger): Observations {
  // A short TTL keeps search fast while other gateway instances on a shared store still get seen.
  const records = createRecords(store, "shapes", observationSchema, { hot: { max: 5000, ttlMs: 30_000 } });
  const load = (tool: ToolRecord) => records.get(tool.name);

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
    // Persisted in the background: the answer must not wait on a disk or Redis write.
    records.set(tool.name, observation).catch((error: unknown) => {
      logger.debug(`could not store the shape of ${tool.name}: ${errorMessage(error)}`);
    });
    return shape;
  }

  return {
    record(tool, value) {
      if (isEmptyValue(value)) return Promise.resolve(undefined);
      const seen = shapeOf(value);
      const next = (merging.get(tool.name) ?? Promise.resolve()).then(() => merge(tool, seen));
      // The chain goes on after a failed merge; the failure itself reaches the caller through `next`.
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
