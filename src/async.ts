/**
 * Two patterns of background work, kept once: a task that must not run twice at once but must not miss a
 * request either, and a set of promises to wait for before shutting down.
 */

/**
 * Wraps `task` so that one run is in flight at a time: a call while it runs asks for one more run after it
 * (however many calls came meanwhile), and every caller gets a promise that settles once a run that began
 * after its call has finished.
 */
export function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}

/** Promises in flight (background writes), so a shutdown can wait for them. */
export interface InFlight {
  /** Keeps `promise` until it settles; returns it. */
  track<T>(promise: Promise<T>): Promise<T>;
  /** Resolves when everything tracked so far has settled (a rejection is the tracker's owner's to handle). */
  settled(): Promise<void>;
}

export function createInFlight(): InFlight {
  const pending = new Set<Promise<unknown>>();
  return {
    track(promise) {
      pending.add(promise);
      const forget = () => pending.delete(promise);
      promise.then(forget, forget);
      return promise;
    },
    async settled() {
      await Promise.allSettled(pending);
    },
  };
}

/** A signal that aborts after `ms`, or with `parent`; `clear()` releases its timer and its listener on `parent`. */
export interface Deadline {
  signal: AbortSignal;
  /** It aborted because `ms` passed (not because of `parent`). */
  timedOut(): boolean;
  clear(): void;
}

/**
 * AbortSignal.timeout keeps its signal (and whatever listens to it) alive until the timer fires, and
 * AbortSignal.any on Node 20 keeps its composite alive with its sources: ~2 kB a call that a busy gateway
 * would hold for a whole call timeout. This one is released the moment the call ends.
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError"));
  }, ms);
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}
