import { stemmer } from "stemmer";

/**
 * Tool-aware tokenization, applied to the index and to queries alike:
 * - identifiers split at snake_case, kebab-case, dots, camelCase and letter/digit boundaries
 *   ("getFileInfo" → get file info, "list_directory" → list directory, "base64" → base 64);
 * - lowercased, then Porter-stemmed so "writes"/"writing"/"write" meet;
 * - English filler words dropped, since they match everything and rank nothing;
 * - runs of CJK characters become overlapping bigrams, because those scripts do not put spaces between words.
 */

const STOPWORDS = new Set(
  (
    "a an the and or but if then else of to in on at by for from with without into onto about as is are was were be been " +
    "being it its this that these those there here i me my we our you your he she they them their his her can could " +
    "would should will shall may might must do does did done have has had so such than too very just also only not no " +
    "yes please want need like let lets get got what which who whom whose when where why how all any some each every " +
    "more most other same own via using use used"
  ).split(" "),
);

const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;

function splitIdentifier(word: string): string[] {
  return word
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/([A-Za-z])(\d)/g, "$1 $2")
    .replace(/(\d)([A-Za-z])/g, "$1 $2")
    .split(" ");
}

function cjkBigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length === 1) return chars;
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(`${chars[i]}${chars[i + 1]}`);
  return grams;
}

/** Splits text into raw words (not yet normalized); used as minisearch's `tokenize`. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const withoutCjk = text.replace(CJK_RUN, (run) => {
    out.push(...cjkBigrams(run));
    return " ";
  });
  for (const word of withoutCjk.split(/[^\p{L}\p{N}]+/u)) {
    if (word) out.push(...splitIdentifier(word));
  }
  return out;
}

/** Normalizes one token; returns null to drop it. Used as minisearch's `processTerm`. */
export function normalizeTerm(term: string): string | null {
  const lower = term.toLowerCase();
  if (lower.length === 0 || STOPWORDS.has(lower)) return null;
  if (!/^[a-z]+$/.test(lower)) return lower;
  return stemmer(lower);
}

/** Tokens of a text, normalized, as the index sees them. */
export function terms(text: string): string[] {
  return tokenize(text)
    .map(normalizeTerm)
    .filter((t): t is string => t !== null);
}
