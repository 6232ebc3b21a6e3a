import { cpus, totalmem } from "node:os";

/** One line of the results table: Skillsmith's figure beside its baseline's, measured in the same run. */
export interface Row {
  /** The row it belongs to: "1 Surface", "2 Search speed", … */
  group: string;
  /** What is measured, and on what. */
  measure: string;
  skillsmith: string;
  baseline: string;
  /** Skillsmith ÷ baseline, e.g. "0.12×", or "n/a". */
  ratio: string;
  /** Which way is better, a target, or why a figure is missing. */
  note: string;
}

/** A group of rows the bench measures (`name` is what `--only` takes); list it in `bench/run.ts` to add rows. */
export interface RowGroup {
  name: string;
  run(context: BenchContext): Promise<Row[]>;
}

export interface BenchContext {
  /** `--quick`: fewer samples and rounds, same rows. */
  quick: boolean;
  /** The project's root directory. */
  root: string;
  /** A scratch directory for this run, removed at the end. */
  tmp: string;
  /** Progress lines, to stderr. */
  log(message: string): void;
}

export type Unit = "ms" | "tokens" | "MB" | "score";

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return "n/a";
  switch (unit) {
    case "ms":
      return value >= 100 ? `${Math.round(value).toLocaleString("en-US")} ms` : `${value.toPrecision(3)} ms`;
    case "tokens":
      return `${Math.round(value).toLocaleString("en-US")} tok`;
    case "MB":
      return `${(value / 1024 / 1024).toFixed(1)} MB`;
    case "score":
      return value.toFixed(3);
  }
}

export function formatRatio(skillsmith: number, baseline: number): string {
  if (!Number.isFinite(skillsmith) || !Number.isFinite(baseline) || baseline === 0) return "n/a";
  const ratio = skillsmith / baseline;
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** A row from two measured numbers of the same unit. */
export function compare(
  group: string,
  measure: string,
  skillsmith: number,
  baseline: number,
  unit: Unit,
  note: string,
): Row {
  return {
    group,
    measure,
    skillsmith: formatValue(skillsmith, unit),
    baseline: formatValue(baseline, unit),
    ratio: formatRatio(skillsmith, baseline),
    note,
  };
}

/** A row whose Skillsmith figure cannot be measured yet; the baseline is still shown when it was measured. */
export function missing(group: string, measure: string, why: string, baseline = "n/a", note = ""): Row {
  return { group, measure, skillsmith: `n/a (${why})`, baseline, ratio: "n/a", note };
}

const HEADER = ["#", "measure", "Skillsmith", "baseline", "ratio", "note"];

const cells = (row: Row) => [row.group, row.measure, row.skillsmith, row.baseline, row.ratio, row.note];

/** The results table, in Markdown. */
export function markdownTable(rows: Row[]): string {
  return textTable(HEADER, rows.map(cells));
}

/** A Markdown table of any columns, padded so it also reads well as plain text. */
export function textTable(header: string[], lines: string[][]): string {
  const all = [header, ...lines].map((r) => r.map((c) => c.replace(/\|/g, "\\|")));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(all[0] ?? header), rule, ...all.slice(1).map(line)].join("\n");
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function resultsMarkdown(
  rows: Row[],
  info: { machine: Machine; date: Date; quick: boolean; seconds: number },
) {
  const m = info.machine;
  return `# Skillsmith bench results

Produced by \`npm run bench${info.quick ? " -- --quick" : ""}\`; every baseline was measured in the same run.

- Date: ${info.date.toISOString()}
- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.platform}
- Node: ${m.node}
- Mode: ${info.quick ? "quick (fewer samples)" : "full"}; the run took ${info.seconds.toFixed(0)} s

${markdownTable(rows)}

Ratio = Skillsmith ÷ baseline. How each row is measured:

1. **Surface** — tokens (characters ÷ 4) of the JSON of Skillsmith's \`tools/list\` while it fronts the servers,
   against the JSON of every downstream tool definition, listed by a direct SDK client from each server.
2. **Search speed** — in-process: Skillsmith's catalog (\`setServerTools\` per server, then \`search\`) against
   plain minisearch (default options, fields name + description) over the same tool records and the same
   queries (the development questions and their steps). Heap = heap used after building, minus before (after GC).
3. **Search quality** — the 527 registry tools served by fixture MCP servers (70 servers) behind a gateway,
   each development question sent as \`search_tools\` over an MCP client; tool names deduplicated in the
   ranking; relevance binary (the gold tool names). Baseline: plain minisearch over the same tools.
4. **Call overhead** — \`everything.echo\` through the built gateway (\`probe_tool\`, fresh) against a direct
   SDK client to the same server; both over stdio, calls interleaved in blocks.
5. **Skills** — run_skill wall time of a skill making 3 echo calls, minus the same calls made directly: cold (first run in a fresh gateway, median of 5) and warm (p50), default file store and memory store; N slow calls in \`parallel\` vs a loop; sandbox worker pool RSS from /proc (workers 2 vs 1).
6. **Startup** — from spawning the built gateway to the first \`search_tools\` answer that finds tools of all
   four servers (3 real + one fixture that takes 5 s to start), with and without registry snapshots;
   baseline: direct SDK clients connecting to all four and listing their tools.
9. **Console** — \`skillsmith console\` from dist over the 3 real servers, against the MCP Inspector's web client
   (a devDependency) served from its dist/ folder, gzipped alike; cold loads (a new browser context each) in
   Debian's chromium, interleaved: bytes transferred, first contentful paint, and the time until the content is
   on screen (ours: the servers table with its data; the Inspector's: its first rendered element).
`;
}

/**
 * Sections of RESULTS.md that one kind of run writes and the others keep: each sits between
 * `<!-- keep: name -->` and `<!-- /keep: name -->` (the load table, or a before/after table written by hand).
 */
const KEPT = /<!-- keep: ([\w-]+) -->[\s\S]*?<!-- \/keep: \1 -->/g;

const LOAD_START = "<!-- keep: load -->";
const LOAD_END = "<!-- /keep: load -->";

/** The load section as it sits in RESULTS.md, between markers, so each kind of run rewrites only its own part. */
export function loadSection(
  table: string,
  info: { machine: Machine; date: Date; seconds: number; perLevel: number },
) {
  const m = info.machine;
  return `${LOAD_START}
## Load (\`npm run bench -- --load\`)

- Date: ${info.date.toISOString()}; ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.platform}, Node ${m.node}
- ${info.perLevel} s per level; the run took ${info.seconds.toFixed(0)} s

${table}

Each level opens that many MCP sessions over Streamable HTTP (SDK clients in the bench process) and keeps each one
calling for the time given, one call after another: the mixed workload cycles search_tools, probe_tool on
\`everything.echo\` (fresh) and run_skill of a saved one-call skill. The downstream \`everything\` server runs once over
Streamable HTTP on loopback; the baseline is as many direct SDK sessions calling its \`echo\` tool, in the same
run, taking turns with the gateway's sessions in 2 s slices (so the load others put on the machine hits both
alike). Ratio = gateway ops/s ÷ direct ops/s (higher is better). RSS and CPU are read from /proc for the gateway
processes (summed over instances); CPU counts only the gateway's own slices. One instance uses the default file store; two instances share one
redis-server, with separate skill folders, behind nginx round-robin without session affinity.
${LOAD_END}`;
}

/** `document` with the kept sections of `previous` after it, the load section replaced by `section` when given. */
export function spliceLoadSection(document: string, previous: string, section?: string): string {
  const kept = [...previous.matchAll(KEPT)].map((m) => (m[1] === "load" && section ? section : m[0]));
  if (section && !kept.includes(section)) kept.unshift(section);
  const own = document.replace(KEPT, "").trimEnd();
  return kept.length === 0 ? document : `${own}\n\n${kept.join("\n\n")}\n`;
}
