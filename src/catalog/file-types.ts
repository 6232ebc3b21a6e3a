import mimeDb from "mime-db";

/**
 * What a file extension says in words, read from its registered media type (the `mime-db` package):
 * "docx" → wordprocessing document, "pptx" → presentation, "md" → markdown, "wav" → audio, "png" → image.
 * A request that names "/root/ppt/apple.pptx" is about a presentation; this lets it say so.
 */

/** Parts of media type names that only say who registered the type or how it is encoded. */
const NOISE = new Set([
  "application",
  "vnd",
  "x",
  "openxmlformats",
  "officedocument",
  "ms",
  "xml",
  "json",
  "zip",
]);

let byExtension: Map<string, string> | undefined;

function build(): Map<string, string> {
  const words = new Map<string, string>();
  for (const [type, entry] of Object.entries(mimeDb)) {
    for (const extension of entry.extensions ?? []) {
      if (words.get(extension)) continue;
      const parts = type
        .split(/[/.+-]/)
        .map((p) => p.toLowerCase())
        .filter((p) => p.length > 1 && !NOISE.has(p) && p !== extension)
        // OOXML names its formats "wordprocessingml", "spreadsheetml", "presentationml"; "msword" is Word.
        .map((p) => p.replace(/^(\w{5,})ml$/, "$1").replace(/^ms(\w{4,})$/, "$1"));
      words.set(extension, [...new Set(parts)].join(" "));
    }
  }
  return words;
}

/** Words for a file extension (without the dot), or "" when it is not a registered one. */
export function extensionWords(extension: string): string {
  byExtension ??= build();
  return byExtension.get(extension.toLowerCase()) ?? "";
}

/** Whether the extension (without the dot) is a registered one. */
export function isKnownExtension(extension: string): boolean {
  byExtension ??= build();
  return byExtension.has(extension.toLowerCase());
}
