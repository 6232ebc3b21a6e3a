// Example skill: read the text files of one folder and remember what each holds in the knowledge graph.
// Servers: `files` (@modelcontextprotocol/server-filesystem) and `memory` (@modelcontextprotocol/server-memory).
// The answer shapes were checked with probe_tool before this was written, not guessed:
//   files.list_directory  → { content: "[FILE] a.txt\n[DIR] notes\n…" }
//   files.read_text_file  → { content: "<the file's text>" }
//   memory.create_entities → { entities: [...] }, only the entities it added (names already known are skipped)

const DEFAULT_EXTENSIONS = [".txt", ".md"];

export default async function run(input, { call, step, parallel, log }) {
  // Paths stay relative to the files server's root, so entity names read "notes/a.md", not absolute paths.
  const folder = input.folder.replace(/\/+$/, "") || ".";
  const extensions = (input.extensions ?? DEFAULT_EXTENSIONS).map((ext) => ext.toLowerCase());
  const pathOf = (name) => (folder === "." ? name : `${folder}/${name}`);

  const names = await step("list the folder", async () => {
    const listing = await call("files.list_directory", { path: folder });
    return listing.content
      .split("\n")
      .filter((line) => line.startsWith("[FILE] "))
      .map((line) => line.slice("[FILE] ".length))
      .filter((name) => extensions.some((ext) => name.toLowerCase().endsWith(ext)));
  });
  log(`${names.length} text files in ${folder}`);

  // The files do not depend on each other, so they are read in parallel. The bound keeps a big folder
  // from sending hundreds of calls at once; the gateway applies the server's own limit on top.
  const files = await step("read the text files", () =>
    parallel(
      names,
      async (name) => {
        const { content } = await call("files.read_text_file", { path: pathOf(name) });
        const lines = content.split("\n").filter((line) => line.trim() !== "");
        return {
          path: pathOf(name),
          // A Markdown heading's "#" is markup, not part of the title.
          title: (lines[0] ?? "")
            .replace(/^#+\s*/, "")
            .trim()
            .slice(0, 120),
          lines: lines.length,
          words: content.split(/\s+/).filter(Boolean).length,
        };
      },
      { concurrency: 4 },
    ),
  );

  // Each write is a step of its own: a resumed run replays a finished write from the record
  // instead of sending it again.
  const stored = await step("store the folder and its files as entities", () =>
    call("memory.create_entities", {
      entities: [
        { name: folder, entityType: "folder", observations: [`holds ${files.length} text files`] },
        ...files.map((file) => ({
          name: file.path,
          entityType: "text file",
          observations: [`title: ${file.title}`, `${file.lines} non-empty lines, ${file.words} words`],
        })),
      ],
    }),
  );

  await step("link the folder to its files", () =>
    call("memory.create_relations", {
      relations: files.map((file) => ({ from: folder, to: file.path, relationType: "contains" })),
    }),
  );

  // Entities already in the graph are left as they were; `added` says which ones this run created.
  return { folder, files, added: stored.entities.map((entity) => entity.name) };
}
