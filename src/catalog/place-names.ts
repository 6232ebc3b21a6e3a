import { isPlaceName } from "./wordnet.js";

/**
 * Place names in a request. "A trip to the Forbidden City in Beijing" needs the tools that take "an address or
 * place name" (geocoders, nearby search, weather by city) though it says neither word; WordNet knows Beijing as
 * a city, Paris and France as places, Amazon only as a river and a woman.
 * Only names as written count: capitalized words ("Reading" the town, not "reading" a file), and not a
 * sentence's first word alone, which is capitalized anyway. A run of up to three ("New York City") is looked
 * up whole before its parts.
 */

/** How map tools name what they take: "Convert an address or place name to coordinates". */
export const PLACE_WORDS = "address place";

const NAME_RUN = /\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2}/gu;
/** Each run is a few dictionary look-ups, and a request may be a pasted page. */
const MAX_RUNS = 12;
const MAX_NAMES = 3;

/** The place names a request uses (at most a few), in order. */
export function placeNames(text: string): string[] {
  const names: string[] = [];
  let runs = 0;
  for (const run of text.matchAll(NAME_RUN)) {
    if (runs++ >= MAX_RUNS || names.length >= MAX_NAMES) break;
    const words = run[0].split(/[ -]/);
    const name = longestPlace(words, startsSentence(text, run.index));
    if (name) names.push(name);
  }
  return names;
}

/** Whether only white space stands between `at` and the start of the text or the end of a sentence. */
function startsSentence(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    const c = text[i] as string;
    if (c === "\n" || ".!?:".includes(c)) return true;
    if (c.trim() !== "") return false;
  }
  return true;
}

/** The longest place name among the run's spans; a sentence's first word counts only as part of a longer name. */
function longestPlace(words: string[], startsSentence: boolean): string | undefined {
  for (let length = words.length; length >= 1; length--) {
    for (let start = 0; start + length <= words.length; start++) {
      if (length === 1 && start === 0 && startsSentence) continue;
      const span = words.slice(start, start + length);
      if (isPlaceName(span.join("_"))) return span.join(" ");
    }
  }
  return undefined;
}
