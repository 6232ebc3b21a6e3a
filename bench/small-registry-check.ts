/**
 * Quick check that ranking still serves the small, real registry: the snapshots of the three real servers
 * (registry/files.json, memory.json, everything.json) loaded in-process, and five everyday requests whose
 * tool must stay in the top 3.  node --import tsx bench/small-registry-check.ts  (exits 1 on a miss)
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createCatalog } from "../src/catalog/catalog.js";
import { type ToolRecord, toolRecordSchema } from "../src/catalog/tool-record.js";

const registryDir = resolve(dirname(fileURLToPath(import.meta.url)), "../registry");
const SERVERS = ["files", "memory", "everything"];

export const SMALL_REGISTRY_CASES: Array<{ query: string; expect: string }> = [
  { query: "write text into a file", expect: "files.write_file" },
  { query: "store entities in the knowledge graph", expect: "memory.create_entities" },
  { query: "add two numbers together", expect: "everything.get-sum" },
  { query: "show the folder tree of a directory", expect: "files.directory_tree" },
  { query: "find nodes in memory matching a query", expect: "memory.search_nodes" },
];

export async function checkSmallRegistry(): Promise<
  Array<{ query: string; expect: string; top: string[]; ok: boolean }>
> {
  const catalog = createCatalog(SERVERS);
  for (const server of SERVERS) {
    const snapshot = JSON.parse(await readFile(resolve(registryDir, `${server}.json`), "utf8")) as {
      tools: unknown[];
    };
    const records: ToolRecord[] = snapshot.tools.map((t) => toolRecordSchema.parse(t));
    catalog.setServerTools(server, records);
  }
  return SMALL_REGISTRY_CASES.map(({ query, expect }) => {
    const top = catalog.search({ query, limit: 3 }).hits.map((h) => h.entry.name);
    return { query, expect, top, ok: top.includes(expect) };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await checkSmallRegistry();
  for (const r of results)
    console.log(`${r.ok ? "ok  " : "MISS"} ${r.query.padEnd(40)} → ${r.top.join(", ")}`);
  const misses = results.filter((r) => !r.ok).length;
  console.log(misses === 0 ? "all in the top 3" : `${misses} missed`);
  process.exitCode = misses === 0 ? 0 : 1;
}
