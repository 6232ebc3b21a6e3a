/**
 * A server's concurrency limit, shared fairly by its tools: at most `limit` calls hold a slot at once, and one tool
 * at most `perKey` of them, so calls to a tool that hangs leave slots for the server's other tools. Waiting calls
 * are served one tool after another (round robin), each tool's in order; a call whose signal aborts leaves the queue.
 */
export interface Limiter {
  /** The limiter as seen by calls to one key (a tool's name): they share one queue and one cap. */
  lane(key: string): { run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> };
}

export function createLimiter(limit: number): Limiter {
  // A quarter of the slots (rounded down) are kept from any one tool: 2 of the default 8, none below 4.
  const perKey = limit - Math.floor(limit / 4);
  let active = 0;
  const holding = new Map<string, number>();
  /** Waiting calls by key; a key served goes to the back (Map order), which makes the rotation. */
  const waiting = new Map<string, Array<() => void>>();

  const canTake = (key: string) => active < limit && (holding.get(key) ?? 0) < perKey;
  const take = (key: string) => {
    active++;
    holding.set(key, (holding.get(key) ?? 0) + 1);
  };

  /** Grants free slots to waiting calls, one key at a time, until no waiting key can take one. */
  function grant(): void {
    for (let granted = true; granted && active < limit; ) {
      granted = false;
      for (const [key, queue] of [...waiting]) {
        const next = canTake(key) ? queue.shift() : undefined;
        if (!next) continue;
        waiting.delete(key);
        if (queue.length > 0) waiting.set(key, queue);
        take(key);
        next();
        granted = true;
      }
    }
  }

  const acquire = (key: string, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (canTake(key) && !waiting.has(key)) {
        take(key);
        resolve();
        return;
      }
      const queue = waiting.get(key) ?? [];
      const granted = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = queue.indexOf(granted);
        if (at >= 0) queue.splice(at, 1);
        if (queue.length === 0 && waiting.get(key) === queue) waiting.delete(key);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(granted);
      waiting.set(key, queue);
    });

  const release = (key: string) => {
    active--;
    const held = (holding.get(key) ?? 1) - 1;
    if (held > 0) holding.set(key, held);
    else holding.delete(key);
    grant();
  };

  return {
    lane: (key) => ({
      async run(task, signal) {
        signal?.throwIfAborted();
        await acquire(key, signal);
        try {
          return await task();
        } finally {
          release(key);
        }
      },
    }),
  };
}
