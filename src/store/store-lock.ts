import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import { isAlive } from "../process-alive.js";
import type { StateStore } from "./state-store.js";

export interface Lock {
  /** Lets the next holder in; a lock already taken over (expired) is left to its new holder. */
  release(): Promise<void>;
}

/** Who holds a lock: read back through zod, as anything from the store. */
const holderSchema = z.object({ token: z.string(), host: z.string(), pid: z.int() });
type Holder = z.infer<typeof holderSchema>;

const LOCKS = "locks";

/** A holder that is gone: a process of this host that died (killed mid-save), or a value that is not a holder. */
function abandoned(value: unknown): boolean {
  const holder = holderSchema.safeParse(value);
  if (!holder.success) return true;
  const { host, pid } = holder.data;
  return host === hostname() && pid !== process.pid && !isAlive(pid);
}

/**
 * A named lock, as one compare-and-set entry of the store: taken when absent, expired (its holder stalled past
 * `ttlMs`) or abandoned, so a killed holder never blocks the next one for long; released only by its holder.
 * On Redis this is SET-if-absent with PX, across hosts; on LMDB a write transaction, across the host's processes.
 */
export async function lockIn(
  store: StateStore,
  name: string,
  { ttlMs = 30_000, waitMs = 30_000 }: { ttlMs?: number; waitMs?: number } = {},
): Promise<Lock> {
  const holder: Holder = { token: randomUUID(), host: hostname(), pid: process.pid };
  const deadline = Date.now() + waitMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    const { before, changed } = await store.update<unknown>(LOCKS, name, (current) =>
      current === undefined || abandoned(current) ? { set: holder, ttlMs } : undefined,
    );
    if (changed) break;
    if (Date.now() > deadline) {
      const by = holderSchema.safeParse(before);
      throw new Error(
        `waited ${waitMs} ms for the lock "${name}" in the store ${store.url}` +
          (by.success ? `, held by process ${by.data.pid} on ${by.data.host}` : "") +
          `; it frees itself ${ttlMs} ms after it was taken if that process is stuck. Try again.`,
      );
    }
    // Jitter, so waiters of one lock do not retry in step.
    await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
  }
  return {
    async release() {
      await store.update<unknown>(LOCKS, name, (current) => {
        const held = holderSchema.safeParse(current);
        return held.success && held.data.token === holder.token ? { delete: true } : undefined;
      });
    },
  };
}
