import { z } from "zod";
import { coalesced } from "../async.js";
import type { StateStore } from "../store/state-store.js";

/**
 * The ids of the most recent runs, newest first, in one store entry shared by every instance: the store keeps run
 * records by id and cannot list them, and the console shows recent runs. Ids that arrive while a write is on its
 * way go out together in the next one, so a burst of runs makes a few compare-and-sets, not one each.
 */
export interface RunIndex {
  add(runId: string): Promise<void>;
  /** At most `limit` ids, newest first; some may name runs the store no longer keeps. */
  recent(limit: number): Promise<string[]>;
}

const NAMESPACE = "run-index";
const KEY = "recent";
/** Kept ids: more than a page of recent runs, far fewer than the records the store keeps. */
const MAX_IDS = 500;
const idsSchema = z.array(z.string());

export function createRunIndex(store: StateStore): RunIndex {
  /** Ids not in the store yet, oldest first; kept until a write has them (a failed one is tried again). */
  let pending: string[] = [];
  const write = coalesced(async () => {
    const batch = pending.slice();
    if (batch.length === 0) return;
    const newest = batch.toReversed();
    await store.update<unknown>(NAMESPACE, KEY, (current) => {
      const known = idsSchema.safeParse(current);
      return { set: [...newest, ...(known.success ? known.data : [])].slice(0, MAX_IDS) };
    });
    pending = pending.slice(batch.length);
  });
  return {
    add(runId) {
      pending = [...pending, runId].slice(-MAX_IDS);
      return write();
    },
    async recent(limit) {
      const stored = idsSchema.safeParse(await store.namespace<unknown>(NAMESPACE).get(KEY));
      const ids = [...pending.toReversed(), ...(stored.success ? stored.data : [])];
      return [...new Set(ids)].slice(0, limit);
    },
  };
}
