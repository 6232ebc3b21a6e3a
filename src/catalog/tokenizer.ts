import { createRequire } from "node:module";
import { glossChinese } from "./chinese-glosses.js";
import { extensionWords, isKnownExtension } from "./file-types.js";
import { type PathRole, pathRole } from "./path-roles.js";

/**
 * Tool-aware tokenization, applied to the index and to queries alike:
 * - identifiers split at snake_case, kebab-case, dots, camelCase and letter/digit boundaries
 *   ("getFileInfo" → get file info, "list_directory" → list directory, "base64" → base 64);
 * - lowercased, then stemmed (Porter2, the revised Porter stemmer) so "writes"/"writing"/"write" meet, while
 *   "news" stays apart from "new" and "generate" from "general", as the original Porter stemmer does not keep them;
 * - English function words and the filler of spoken requests ("please", "help me", "tell me") dropped,
 *   since they match everything and rank nothing;
 * - a file path (or a bare file name with a registered extension) stands for a file of its type, in the
 *   words of its registered media type: "/root/word/cv.docx" → file docx wordprocessing document,
 *   "out.pptx" → file pptx presentation (the folders and the file's own name say where, not what to do); and a
 *   path the request writes ("save it to /root/notes.md") also stands for writing (path-roles.ts);
 * - runs of CJK characters become overlapping bigrams (those scripts do not put spaces between words)
 *   and, for Chinese, English glosses from a dictionary, so English queries reach Chinese descriptions.
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

/** Words of asking, not of the task: "please help me …", "can you tell me …", "I'd like you to …". */
const FILLER = new Set(
  (
    "help tell show give provide kindly thank thanks hi hello hey ok okay sure maybe really actually basically " +
    "something anything everything someone somebody thing things stuff us im ive id ill youre dont cant wont " +
    "would wouldnt could couldnt know think try trying wanna gonna able"
  ).split(" "),
);

export interface AnalyzeOptions {
  /** Drop the filler of spoken requests as well as function words (default true). */
  filler?: boolean;
  /** Read file paths as "file <extension>" (default true). */
  paths?: boolean;
  /** Read a path the request writes to as "write" too (default true; only with `paths`). */
  targets?: boolean;
  /** Add English glosses of Chinese text (default true). */
  glosses?: boolean;
  /** Read a place name in a request as needing place tools (default true; requests only: see place-names.ts). */
  places?: boolean;
}

// ー (U+30FC, the prolonged sound mark) is in no script of its own but belongs inside katakana words.
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC]+/gu;
const HAN = /\p{Script=Han}/u;

/** A file path: at least two segments joined by / or \ (an optional drive, ~ or . before); URLs are left alone. */
const PATH = /(?<![\w/:.])(?:[A-Za-z]:|~|\.{1,2})?(?:[\\/][\w\-.@]+){2,}(?![\w/])/g;
/** A bare file name ("notes.md", "Report_Card.docx"): counted as one only if its extension is a registered one. */
const FILE_NAME = /(?<![\w/:.@-])[\w-]+\.([A-Za-z][A-Za-z0-9]{0,4})(?![\w/.-])/g;
/** Registered extensions that are far more often the end of a host name ("example.com"). */
const HOST_ENDINGS = new Set(["com", "org", "ai", "me"]);

/** Words repeat across descriptions (and requests) far more than they vary: each is split once. */
const splits = new Map<string, string[]>();
const MAX_CACHED = 200_000;

function splitIdentifier(word: string): string[] {
  let parts = splits.get(word);
  if (parts === undefined) {
    parts = splitOnce(word);
    if (splits.size < MAX_CACHED) splits.set(word, parts);
  }
  return parts;
}

function splitOnce(word: string): string[] {
  if (/^(?:[a-z]+|[A-Z]?[a-z]+|[A-Z]+|\d+)$/.test(word)) return [word];
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

/** "write" is how tools that write files say so (write_file, "Write content to a file"). */
function pathWords(path: string, role: PathRole): string {
  const base = path.split(/[\\/]/).pop() ?? "";
  const dot = base.lastIndexOf(".");
  const writes = role === "target" ? " write" : "";
  if (dot <= 0) return `${writes} file `;
  const extension = base.slice(dot + 1);
  return `${writes} file ${extension} ${extensionWords(extension)} `;
}

function readPaths(text: string, targets: boolean): string {
  const role = (whole: string, offset: number): PathRole => (targets ? pathRole(whole, offset) : "unknown");
  return text
    .replace(PATH, (path: string, offset: number, whole: string) => pathWords(path, role(whole, offset)))
    .replace(FILE_NAME, (name: string, extension: string, offset: number, whole: string) => {
      const lower = extension.toLowerCase();
      return HOST_ENDINGS.has(lower) || !isKnownExtension(lower)
        ? name
        : pathWords(name, role(whole, offset));
    });
}

/** Splits text into raw words (not yet normalized); used for documents and queries alike. */
export function tokenize(text: string, options: AnalyzeOptions = {}): string[] {
  const out: string[] = [];
  let rest = options.paths === false ? text : readPaths(text, options.targets !== false);
  rest = rest.replace(CJK_RUN, (run) => {
    out.push(...cjkBigrams(run));
    return options.glosses !== false && HAN.test(run) ? ` ${glossChinese(run)} ` : " ";
  });
  for (const word of rest.split(/[^\p{L}\p{N}]+/u)) {
    if (word) out.push(...splitIdentifier(word));
  }
  return out;
}

const porter2 = createRequire(import.meta.url)("wink-porter2-stemmer") as (word: string) => string;
const stems = new Map<string, string>();

function stem(word: string): string {
  let stemmed = stems.get(word);
  if (stemmed === undefined) {
    stemmed = porter2(word);
    if (stems.size < 200_000) stems.set(word, stemmed);
  }
  return stemmed;
}

/** Normalized tokens, with filler dropped and kept (the option differs only in the bench's ablation). */
const normalized = { filler: new Map<string, string | null>(), kept: new Map<string, string | null>() };

/** Normalizes one token; returns null to drop it. */
export function normalizeTerm(term: string, options: AnalyzeOptions = {}): string | null {
  const cache = options.filler === false ? normalized.kept : normalized.filler;
  let found = cache.get(term);
  if (found === undefined) {
    found = normalizeOnce(term, options);
    if (cache.size < MAX_CACHED) cache.set(term, found);
  }
  return found;
}

function normalizeOnce(term: string, options: AnalyzeOptions): string | null {
  const lower = term.toLowerCase();
  if (lower.length === 0 || STOPWORDS.has(lower)) return null;
  if (options.filler !== false && FILLER.has(lower)) return null;
  if (!/^[a-z]+$/.test(lower)) return lower;
  return stem(lower);
}

/** Each kept word of a text, lowercased, with the term it becomes (a query's words are looked up as words too). */
export function words(text: string, options: AnalyzeOptions = {}): Array<{ word: string; term: string }> {
  const out: Array<{ word: string; term: string }> = [];
  const withoutClitics = text.replace(/n['’]t\b/gi, "").replace(/['’](?:s|re|ve|d|ll|m)\b/gi, "");
  for (const token of tokenize(withoutClitics, options)) {
    const term = normalizeTerm(token, options);
    if (term !== null) out.push({ word: token.toLowerCase(), term });
  }
  return out;
}

/** Tokens of a text, normalized, as the index sees them. */
export function terms(text: string, options: AnalyzeOptions = {}): string[] {
  return words(text, options).map((w) => w.term);
}
