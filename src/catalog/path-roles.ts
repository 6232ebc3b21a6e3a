/**
 * Whether a request writes the file a path names or reads it. "Save it as Markdown to /root/notes.md" and
 * "generate a report at /root/out.md" need a tool that writes files, which no word of the file's type says;
 * "read the data under /root/sales.xlsx" does not. The nearest verb of writing or of reading before the path, in
 * its sentence, decides. With neither, a new made thing named before it ("a markdown report on /root/r.md", not
 * "the notes in /root/n.md") says the request makes that file. Words are matched as written (lowercased), before
 * stemming, so each form is listed.
 */

export type PathRole = "target" | "source" | "unknown";

const WRITING = new Set(
  (
    "save saves saved saving write writes writing wrote written store stores stored export exports exported " +
    "output outputs generate generates generated create creates created produce produces produced put dump"
  ).split(" "),
);

const READING = new Set(
  (
    "read reads reading open opens load loads parse parses analyze analyse analyzes convert converts check " +
    "review summarize extract import compare from under"
  ).split(" "),
);

const MADE = new Set(
  "report summary document tutorial article script brief note notes guide essay post".split(" "),
);

const NEW = new Set(["a", "an"]);
const KNOWN = new Set("the this that these those my our your his her their its".split(" "));
/** How far before a made thing its article may stand ("a detailed markdown report"). */
const ARTICLE_REACH = 4;

const SENTENCE_END = /[.!?]\s|\n/g;
/** The verb that decides stands near the path; a bound keeps a text full of paths linear to read. */
const REACH = 300;

/** The role of the path that begins at `offset` in `text`. */
export function pathRole(text: string, offset: number): PathRole {
  const before = text.slice(Math.max(0, offset - REACH), offset);
  let start = 0;
  for (const end of before.matchAll(SENTENCE_END)) start = end.index + end[0].length;
  const words = before
    .slice(start)
    .toLowerCase()
    .split(/[^a-z]+/);
  let made = false;
  for (let i = words.length - 1; i >= 0; i--) {
    const word = words[i] as string;
    if (WRITING.has(word)) return "target";
    if (READING.has(word)) return "source";
    if (MADE.has(word) && !made) made = isNew(words, i);
  }
  return made ? "target" : "unknown";
}

/** Whether the thing named at `at` is introduced as new: "a report", not "the report". */
function isNew(words: string[], at: number): boolean {
  for (let i = at - 1; i >= Math.max(0, at - ARTICLE_REACH); i--) {
    const word = words[i] as string;
    if (NEW.has(word)) return true;
    if (KNOWN.has(word)) return false;
  }
  return false;
}
