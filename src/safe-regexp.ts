import { RE2 } from "@adguard/re2-wasm";
import type { RegExpEngine, RegExpLike } from "ajv/dist/types/index.js";
import { LRUCache } from "lru-cache";
import { errorMessage } from "./errors.js";

/**
 * The regex engine for `pattern` keywords of untrusted schemas: RE2 runs in time linear in the input, so a
 * catastrophic pattern (`^(a+)+$`) cannot freeze the main thread. RE2 has no lookaround or backreferences;
 * a pattern using them is refused with a clear error rather than run by a backtracking engine.
 *
 * RE2 runs in a fixed 16 MB WebAssembly heap that aborts when full, leaking what the failed allocation held,
 * and never frees a regex on its own. So each regex gets a memory budget (AdGuard's fork of re2-wasm takes
 * one: past it a pattern is refused cleanly, "pattern too large"), compiled regexes live in a small LRU and
 * are freed on eviction, and inputs are capped.
 */

/** Per regex, program and DFA cache together: enough for `^[\p{L}]{1,30}$`. */
const REGEX_MAX_MEM = 1 << 20;
const MAX_PATTERN_CHARS = 2_000;
/** Well inside the heap: a string is copied into it for each test. */
const MAX_PATTERN_INPUT_CHARS = 1_000_000;

/** The embind object behind an RE2 (kept as `wrapper` by re2-wasm 1.x and its fork); only `delete()` frees it. */
function free(re: RE2): void {
  (re as unknown as { wrapper: { delete(): void } }).wrapper.delete();
}

// Most regexes take a few kB; the heap holds thousands of those, and a dozen at their budget.
const live = new LRUCache<string, RE2>({ max: 64, dispose: free });

function compile(pattern: string, flags: string): RE2 {
  const key = `${flags}/${pattern}`;
  const found = live.get(key);
  if (found) return found;
  const re = new RE2(pattern, flags, REGEX_MAX_MEM);
  live.set(key, re);
  return re;
}

/** What re2-wasm throws when its heap is full (a WebAssembly.RuntimeError). */
function outOfHeap(error: unknown): boolean {
  return error instanceof Error && error.name === "RuntimeError";
}

/** A full heap aborts with a RuntimeError: free every cached regex and try once more. */
function inHeap<T>(pattern: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!outOfHeap(error) || live.size === 0) throw refusal(pattern, error);
    live.clear();
    try {
      return run();
    } catch (again) {
      throw refusal(pattern, again);
    }
  }
}

function refusal(pattern: string, error: unknown): Error {
  const message = errorMessage(error);
  const why = outOfHeap(error)
    ? "the linear-time regex engine ran out of memory"
    : message.includes("pattern too large")
      ? `it is too large for the linear-time regex engine (limit ${REGEX_MAX_MEM} bytes a regex)`
      : `the linear-time regex engine refuses it (${message}); lookaround and backreferences are not supported`;
  return new Error(`the pattern ${JSON.stringify(pattern.slice(0, 200))} cannot be checked: ${why}`);
}

function safeRegExp(pattern: string, u: string): RegExpLike & { toString(): string } {
  if (pattern.length > MAX_PATTERN_CHARS) {
    throw new Error(`a pattern is too long to check (${pattern.length} chars, limit ${MAX_PATTERN_CHARS})`);
  }
  // RE2 always reads patterns as Unicode; compiling now reports an unsupported pattern with the schema.
  const flags = u.includes("u") ? u : `${u}u`;
  inHeap(pattern, () => compile(pattern, flags));
  return {
    // Ajv shares one compiled pattern per distinct toString() in a schema.
    toString: () => `/${pattern}/${flags}`,
    test(input: string) {
      if (input.length > MAX_PATTERN_INPUT_CHARS) {
        throw new Error(
          `a string of ${input.length} chars is too long to check against the pattern (limit ${MAX_PATTERN_INPUT_CHARS})`,
        );
      }
      return inHeap(pattern, () => compile(pattern, flags).test(input));
    },
  };
}

/** Ajv's `code.regExp`; `code` is what standalone code would import, unused here. */
export const safeRegExpEngine: RegExpEngine = Object.assign(safeRegExp, { code: "safeRegExp" });
