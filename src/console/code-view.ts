import { createRequire } from "node:module";
import { structuredPatch } from "diff";

/** The part of highlight.js used here; its own typings would pull the DOM's types into the whole project. */
interface Highlighter {
  registerLanguage(name: string, language: unknown): void;
  highlight(code: string, options: { language: string; ignoreIllegals: boolean }): { value: string };
}

const require = createRequire(import.meta.url);
const hljs = require("highlight.js/lib/core") as Highlighter;
hljs.registerLanguage("javascript", require("highlight.js/lib/languages/javascript"));

/**
 * A skill's code as HTML: highlight.js escapes the source and wraps tokens in `<span class="hljs-…">`, so the
 * page shows it without running or trusting any of it. Done here rather than in the browser: highlight.js ships
 * no browser ES module, and the page stays small.
 */
export function highlightCode(code: string): string {
  return hljs.highlight(code, { language: "javascript", ignoreIllegals: true }).value;
}

export interface DiffLine {
  kind: "add" | "remove" | "same";
  text: string;
  /** Line numbers in the old and the new version (absent on the side the line is not in). */
  old?: number;
  new?: number;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

/** A line diff of two versions of a skill, in hunks with three lines of context (jsdiff's structured patch). */
export function diffCode(before: string, after: string): DiffHunk[] {
  const patch = structuredPatch("before", "after", before, after, "", "", { context: 3 });
  return patch.hunks.map((hunk) => {
    let oldLine = hunk.oldStart;
    let newLine = hunk.newStart;
    const lines: DiffLine[] = [];
    for (const raw of hunk.lines) {
      const text = raw.slice(1);
      if (raw.startsWith("+")) lines.push({ kind: "add", text, new: newLine++ });
      else if (raw.startsWith("-")) lines.push({ kind: "remove", text, old: oldLine++ });
      else if (raw.startsWith(" ")) lines.push({ kind: "same", text, old: oldLine++, new: newLine++ });
    }
    return {
      header: `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`,
      lines,
    };
  });
}
