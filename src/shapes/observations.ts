import { z } from "zod";
import type { ToolRecord } from "../catalog/tool-record.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { createRecords } from "../store/records.js";
import type { StateStore } from "../store/state-store.js";
import { mergeShapes, type Shape, sameShape, shapeSchema } from "./shape.js";

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
  /** Merges the shape of one answer (not an empty one) into the tool's memory; resolves to the merged shape. */
  record(tool: ToolRecord, seen: Shape): Promise<Shape>;
  get(tool: ToolRecord): Promise<Observation | undefined>;
}

/**
 * An answer that teaches nothing new (the merged shape is the one stored) is counted in memory and written with
 * the next change, or after this long: a tool called a thousand times a second is not a thousand store writes.
 */
const QUIET_WRITE_MS = 10_000;

export function createObservations(store: StateStore, logger: Logger): Observations {
  // A short TTL keeps search fast while other gateway instances on a shared store still get seen.
  const records = createRecords(store, "shapes", observationSchema, { hot: { max: 5000, ttlMs: 30_000 } });
  const load = (tool: ToolRecord) => records.get(tool.name);

  // Answers of one tool arrive concurrently (parallel calls in a skill): merge them one at a time, none lost.
  const merging = new Map<string, Promise<unknown>>();
  /** Per tool: answers merged since its observation was last written, and when that was. */
  const unwritten = new Map<string, { answers: number; writtenAt: number }>();

  async function merge(tool: ToolRecord, seen: Shape): Promise<Shape> {
    const before = await load(tool);
    // A changed definition may answer differently: start its memory afresh.
    const same = before !== undefined && before.hash === tool.hash;
    const shape = same ? mergeShapes(before.shape, seen) : seen;
    const pending = unwritten.get(tool.name) ?? { answers: 0, writtenAt: 0 };
    pending.answers += 1;
    const now = Date.now();
    if (same && sameShape(before.shape, shape) && now - pending.writtenAt < QUIET_WRITE_MS) {
      unwritten.set(tool.name, pending);
      return before.shape;
    }
    const observation: Observation = {
      tool: tool.name,
      hash: tool.hash,
      shape,
      count: same ? before.count + pending.answers : 1,
      updatedAt: new Date(now).toISOString(),
    };
    unwritten.set(tool.name, { answers: 0, writtenAt: now });
    // Persisted in the background: the answer must not wait on a disk or Redis write.
    records.set(tool.name, observation).catch((error: unknown) => {
      logger.debug(`could not store the shape of ${tool.name}: ${errorMessage(error)}`);
    });
    return shape;
  }

  return {
    record(tool, seen) {
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
