/** A reused skill is a verified part, worth a small lift: 6% for one caller, 10% at most. */
const REUSE_STEP = 0.06;
const REUSE_MAX = 0.1;

/**
 * The factor on the score of a skill that `callers` other saved skills call: at most 10% higher, enough to pass a
 * near-equal match and never a clearly better one. Undefined when no skill calls it.
 */
export function reuseBoost(callers: number): number | undefined {
  return callers === 0 ? undefined : 1 + Math.min(REUSE_STEP * callers, REUSE_MAX);
}
