import { clip } from "./catalog/render.js";

/**
 * Text that downstream servers wrote (descriptions, tool names, parameter names) on its way to a model's
 * context: characters that hide or reorder text are removed, length is capped, and names that only look
 * different are told apart.
 */

/**
 * Control characters, and format characters: zero-width spaces and joiners, bidi overrides and isolates,
 * Unicode tags (text invisible to a person that a model still reads), the byte-order mark, soft hyphens.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const HIDDEN_ONE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * One line of visible text, at most `max` characters, cut at a word: whitespace runs (line breaks and tabs too)
 * become one space and other hidden characters go.
 */
export function visibleText(text: string, max: number): string {
  return clip(
    text
      .slice(0, 4 * max)
      .replace(/\s+/g, " ")
      .replace(HIDDEN, ""),
    max,
  );
}

/** A name as a person should see it: hidden characters shown as escapes (`read\u{200b}file`). */
export function visibleName(name: string): string {
  return HIDDEN_ONE.test(name)
    ? name.replace(HIDDEN, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`)
    : name;
}

/** What a name looks like to a reader: no hidden characters, compatibility forms folded, any case. */
function appearance(name: string): string {
  return name.replace(HIDDEN, "").normalize("NFKC").toLowerCase();
}

/**
 * For each name that looks like another one (differs only in case, hidden characters or compatibility
 * forms such as full-width letters), the first other name it looks like.
 */
export function lookalikes(names: Iterable<string>): Map<string, string> {
  const byLook = new Map<string, string[]>();
  for (const name of names) {
    const look = appearance(name);
    const group = byLook.get(look);
    if (group) group.push(name);
    else byLook.set(look, [name]);
  }
  const found = new Map<string, string>();
  for (const group of byLook.values()) {
    if (group.length < 2) continue;
    for (const name of group) {
      const other = group.find((n) => n !== name);
      if (other !== undefined) found.set(name, other);
    }
  }
  return found;
}
