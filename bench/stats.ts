/** Small statistics and measuring helpers for the bench; no timing is asserted anywhere. */

/** The nearest-rank percentile (`p` in 0..100) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

/** Milliseconds one call of `fn` takes. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Runs the collector once (node --expose-gc) so heap figures count only what is still reachable. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export function heapUsed(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

/** Tokens as the bench counts them: characters / 4, the usual rule of thumb for English and JSON. */
export function tokens(text: string): number {
  return Math.round(text.length / 4);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
