/**
 * A trimmed copy of an answer, small enough for a model's context: long strings cut, long arrays
 * reduced to their first items and a count, deep nesting elided. `truncated` says whether anything was cut.
 */
const MAX_STRING = 300;
const MAX_ITEMS = 3;
const MAX_DEPTH = 5;
const MAX_KEYS = 30;

export function trimSample(value: unknown): { sample: unknown; truncated: boolean } {
  let truncated = false;
  const trim = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") {
      if (v.length <= MAX_STRING) return v;
      truncated = true;
      return `${v.slice(0, MAX_STRING)}… (${v.length - MAX_STRING} more chars)`;
    }
    if (v === null || typeof v !== "object") return v;
    if (depth >= MAX_DEPTH) {
      truncated = true;
      return Array.isArray(v) ? `[… ${v.length} items]` : "{…}";
    }
    if (Array.isArray(v)) {
      const head = v.slice(0, MAX_ITEMS).map((item) => trim(item, depth + 1));
      if (v.length <= MAX_ITEMS) return head;
      truncated = true;
      return [...head, `… ${v.length - MAX_ITEMS} more items (${v.length} in all)`];
    }
    const entries = Object.entries(v);
    const kept = entries.slice(0, MAX_KEYS).map(([k, x]) => [k, trim(x, depth + 1)]);
    if (entries.length > MAX_KEYS) {
      truncated = true;
      kept.push(["…", `${entries.length - MAX_KEYS} more keys`]);
    }
    return Object.fromEntries(kept);
  };
  const sample = trim(value, 0);
  return { sample, truncated };
}
