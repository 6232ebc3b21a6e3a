import type { SearchHit } from "../catalog/catalog.js";

/** A reused skill is a verified part, worth a small lift: 6% for one caller, 10% at most. */
const REUSE_STEP = 0.06;
const REUSE_MAX = 0.1;
/** How many hits past the limit may move up into it: only near-equal ones can, the lift being at most 10%. */
export const REUSE_LOOKAHEAD = 4;

/**
 * The hits reordered with the reuse signal: a skill that other saved skills call scores up to 10% higher, enough
 * to pass a near-equal match and never a clearly better one; cut to `limit`.
 */
export function rankByReuse(
  hits: SearchHit[],
  usedBy: (skill: string) => string[],
  limit: number,
): SearchHit[] {
  const lifted = hits.map((hit) => {
    if (hit.entry.kind !== "skill") return hit;
    const users = usedBy(hit.entry.name).length;
    return users === 0 ? hit : { ...hit, score: hit.score * (1 + Math.min(REUSE_STEP * users, REUSE_MAX)) };
  });
  return lifted.sort((a, b) => b.score - a.score).slice(0, limit);
}
