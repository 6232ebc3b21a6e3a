/**
 * Bounds on values crossing the sandbox boundary. JSON.stringify (V8) and JSON.parse (QuickJS) recurse, so a value
 * nested deep enough overflows their stack; size is checked before a value is copied into text.
 */

/** Deeper than any real data; far below where V8's or QuickJS's JSON recursion runs out of stack. */
export const MAX_DEPTH = 256;

export type Encoded = { ok: true; json: string } | { ok: false; problem: "depth" | "bytes" };

/**
 * Looks at a value without recursion: "depth" when it nests deeper than MAX_DEPTH, "bytes" when its JSON would
 * surely exceed maxBytes (strings and keys are counted; stops as soon as that is clear), else undefined.
 */
export function oversized(value: unknown, maxBytes: number): "depth" | "bytes" | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let bytes = 0;
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: v, depth } = next;
    if (typeof v === "string") bytes += v.length + 2;
    else if (v === null || typeof v !== "object") bytes += 1;
    else if (depth >= MAX_DEPTH) return "depth";
    else bytes += pushChildren(v, depth + 1, pending);
    if (bytes > maxBytes) return "bytes";
  }
  return undefined;
}

/** Queues an array's items or an object's values; returns the bytes of the brackets, commas and keys. */
function pushChildren(v: object, depth: number, pending: Array<{ value: unknown; depth: number }>): number {
  if (Array.isArray(v)) {
    for (const item of v) pending.push({ value: item, depth });
    return 2 + v.length;
  }
  let bytes = 2;
  for (const [key, item] of Object.entries(v)) {
    pending.push({ value: item, depth });
    bytes += key.length + 4;
  }
  return bytes;
}

/** The value as JSON text, unless it nests too deep or its JSON is larger than maxBytes. */
export function encodeWithin(value: unknown, maxBytes: number): Encoded {
  const problem = oversized(value, maxBytes);
  if (problem) return { ok: false, problem };
  const json = JSON.stringify(value) ?? "null";
  return Buffer.byteLength(json) <= maxBytes ? { ok: true, json } : { ok: false, problem: "bytes" };
}
