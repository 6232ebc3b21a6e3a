/**
 * npm run bench [-- --quick] [--only surface,search-speed,search-quality,call-overhead,skills,startup,first-answer,durability,console,scale-out] [--out file.md]
 * npm run bench -- --load [--load-seconds 30] [--out file.md]
 *
 * Measures Skillsmith against a baseline in the same run, prints one table, and writes it with the machine,
 * Node version and date: a full run to bench/RESULTS.md, a quick or partial one to bench/.tmp/ (unless --out).
 * `--load` runs the load levels instead (see load/load-bench.ts) and rewrites only the load section of
 * bench/RESULTS.md; a full run keeps that section.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureBuilt } from "./clients.js";
import { loadBench, loadTable, operationLines } from "./load/load-bench.js";
import {
  type BenchContext,
  loadSection,
  machine,
  markdownTable,
  type Row,
  type RowGroup,
  resultsMarkdown,
  spliceLoadSection,
} from "./report.js";
import { callOverhead } from "./rows/call-overhead.js";
import { consolePage } from "./rows/console.js";
import { durability } from "./rows/durability.js";
import { firstAnswer } from "./rows/first-answer.js";
import { scaleOut } from "./rows/scale-out.js";
import { searchQuality } from "./rows/search-quality.js";
import { searchSpeed } from "./rows/search-speed.js";
import { skills } from "./rows/skills.js";
import { startup } from "./rows/startup.js";
import { surface } from "./rows/surface.js";

/** Every group of rows, in the order of the table (the numbering). Add a group here to add rows. */
const GROUPS: RowGroup[] = [
  surface,
  searchSpeed,
  searchQuality,
  callOverhead,
  skills,
  startup,
  firstAnswer,
  durability,
  consolePage,
  scaleOut,
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
      load: { type: "boolean", default: false },
      "load-seconds": { type: "string" },
    },
  });
  if (values.load) return load(values["load-seconds"], values.out);
  const quick = values.quick ?? false;
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((name) => !GROUPS.some((g) => g.name === name));
  if (unknown?.length) {
    throw new Error(`unknown group ${unknown.join(", ")}; groups: ${GROUPS.map((g) => g.name).join(", ")}`);
  }
  const groups = only ? GROUPS.filter((g) => only.includes(g.name)) : GROUPS;

  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const log = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);
  const tmp = await mkdtemp(path.join(tmpdir(), "skillsmith-bench-"));
  const context: BenchContext = { quick, root, tmp, log };
  const rows: Row[] = [];
  let failed = false;
  try {
    const build = await ensureBuilt(root);
    if (build.built) log("built dist/ (src/ was newer)");
    if (build.problems)
      log(`warning: npm run build reported errors; measuring what it emitted:\n${build.problems}`);
    for (const group of groups) {
      log(`${group.name}…`);
      try {
        rows.push(...(await group.run(context)));
      } catch (error) {
        failed = true;
        const message = error instanceof Error ? error.message : String(error);
        log(`${group.name} failed: ${error instanceof Error ? error.stack : message}`);
        rows.push({
          group: group.name,
          measure: "(the whole group)",
          skillsmith: `error: ${message.split("\n")[0]?.slice(0, 120)}`,
          baseline: "n/a",
          ratio: "n/a",
          note: "see the log above",
        });
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\n${markdownTable(rows)}\n\n`);
  const partial = quick || only !== undefined;
  const out = values.out ?? path.join(root, partial ? "bench/.tmp/RESULTS.quick.md" : "bench/RESULTS.md");
  await mkdir(path.dirname(out), { recursive: true });
  const document = resultsMarkdown(rows, { machine: machine(), date: new Date(), quick, seconds });
  await writeFile(out, spliceLoadSection(document, await readFile(out, "utf8").catch(() => "")));
  log(`wrote ${path.relative(process.cwd(), out)} (${seconds.toFixed(1)} s in all)`);
  return failed ? 1 : 0;
}

const logger = (started: number) => (message: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

/** `--load`: the load levels, against one instance and two behind nginx; rewrites the load section of the results. */
async function load(secondsArg: string | undefined, outArg: string | undefined): Promise<number> {
  const perLevel = secondsArg === undefined ? 30 : Number(secondsArg);
  if (!Number.isFinite(perLevel) || perLevel <= 0 || perLevel > 600) {
    throw new Error(`--load-seconds takes a number of seconds from 1 to 600, not ${secondsArg}`);
  }
  const started = performance.now();
  const log = logger(started);
  const tmp = await mkdtemp(path.join(tmpdir(), "skillsmith-load-"));
  try {
    const build = await ensureBuilt(root);
    if (build.built) log("built dist/ (src/ was newer)");
    const rows = await loadBench({ quick: false, root, tmp, log }, perLevel);
    for (const line of operationLines(rows)) log(line);
    const table = loadTable(rows);
    process.stdout.write(`\n${table}\n\n`);
    const out = outArg ?? path.join(root, "bench/RESULTS.md");
    const previous = await readFile(out, "utf8").catch(() => "");
    const seconds = (performance.now() - started) / 1000;
    const section = loadSection(table, { machine: machine(), date: new Date(), seconds, perLevel });
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, spliceLoadSection(previous || "# Skillsmith bench results\n", previous, section));
    log(`wrote the load section of ${path.relative(process.cwd(), out)}`);
    return rows.some((r) => r.result.errors > 0) ? 1 : 0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
