/**
 * A hint of how a multi-line text is laid out, so code can parse it: tagged listings, CSV-like rows,
 * `key: value` lines. Counts are left out on purpose: the hint must merge across answers of any length.
 */
export function textFormat(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length <= 1) return "one line of text";
  const tagged = lines.filter((l) => /^\s*\[[A-Z]+\]\s+\S/.test(l));
  if (tagged.length >= lines.length * 0.8) {
    const tags = [...new Set(tagged.map((l) => l.trim().match(/^\[([A-Z]+)\]/)?.[1]))].sort().slice(0, 4);
    return `lines of \`[TAG] name\` (tags seen: ${tags.join(", ")})`;
  }
  for (const [sep, label] of [
    ["\t", "tab"],
    [",", "comma"],
    ["|", "pipe"],
    [";", "semicolon"],
  ] as const) {
    const counts = lines.map((l) => l.split(sep).length - 1);
    const first = counts[0] ?? 0;
    if (first >= 1 && counts.filter((c) => c === first).length >= lines.length * 0.9) {
      return `CSV-like rows of ${first + 1} ${label}-separated columns`;
    }
  }
  const keyed = lines.filter((l) => /^\s*[\w .-]{1,40}:\s+\S/.test(l));
  if (keyed.length >= lines.length * 0.8) return "lines of `key: value`";
  return "lines of text";
}
