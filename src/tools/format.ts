/**
 * The text renderings of Skillsmith's answers, shared by the MCP tools (the `content` a model reads) and the
 * CLI (what a person reads): one wording for both.
 */
import { clip } from "../catalog/render.js";
import type { Explanation, SearchOutput } from "../gateway.js";
import type { ProbeResult } from "../probe/prober.js";
import { trimSample } from "../shapes/sample.js";
import type { NestedRun, StepRecord } from "../skills/frames.js";
import type { RunRecord } from "../skills/runner.js";
import type { SaveOutcome } from "../skills/skills.js";
import { visibleName } from "../untrusted-text.js";

export function renderSearch(query: string, output: SearchOutput): string {
  if (output.results.length === 0) {
    const waiting = output.connecting?.length
      ? ` ${output.connecting.join(", ")} ${output.connecting.length === 1 ? "is" : "are"} still connecting; search again in a moment.`
      : " Try other words for the job, or drop the server filter.";
    return `No tools match "${query}".${waiting}`;
  }
  // Descriptions are quoted as JSON strings: the tools' authors wrote them, and a quote inside cannot end one.
  const lines = [
    `${output.results.length} of ${output.total} matches for "${query}" (descriptions quoted as their servers wrote them):`,
  ];
  lines.push(...readingLines(output));
  for (const r of output.results) {
    const computed = r.computedCalls ? ", calls tools named at run time" : "";
    const lookalike = r.lookalike !== undefined ? `, LOOKALIKE of ${visibleName(r.lookalike)}` : "";
    const match = r.match !== undefined ? `, ${r.match}` : "";
    lines.push(
      `- ${visibleName(r.name)} (${r.kind}${computed}${lookalike}${match}, score ${r.score})` +
        (r.description ? ` ${JSON.stringify(r.description)}` : ""),
    );
    if (r.explanation) lines.push(`  why: ${renderExplanation(r.explanation)}`);
    if (r.params !== undefined) lines.push(`  params: ${r.params || "none"}`);
    if (r.usedBy) lines.push(`  used by: ${r.usedBy.join(", ")}`);
    if (r.returns !== undefined) lines.push(`  returns: ${r.returns}`);
    if (r.inputSchema) lines.push(`  inputSchema: ${JSON.stringify(r.inputSchema)}`);
  }
  if (output.connecting?.length) {
    lines.push(`(${output.connecting.join(", ")} still connecting: not searched yet.)`);
  }
  return lines.join("\n");
}

const BRIDGE_WORDS_SHOWN = 5;

/** The words of a request that no tool uses, and what was searched instead (results marked related). */
function bridgeLine(output: SearchOutput): string | undefined {
  if (!output.bridged?.length) return undefined;
  // The most telling few per word: a word can bring dozens (all of them are in `bridged`).
  const shown = (related: string[]) =>
    related.length > BRIDGE_WORDS_SHOWN ? [...related.slice(0, BRIDGE_WORDS_SHOWN), "…"] : related;
  const pairs = output.bridged.map((b) => `"${b.word}" → ${shown(b.related).join(", ")}`).join("; ");
  const related = output.results.filter((r) => r.match === "related").length;
  return (
    `No tool uses some of these words; related words were searched too (${pairs})` +
    (related > 0 ? `: the ${related} marked "related" matched only those.` : ".")
  );
}

/** How the request was read beyond its own words: related words searched, place names; one line each. */
export function readingLines(output: SearchOutput): string[] {
  return [bridgeLine(output), placesLine(output)].filter((line) => line !== undefined);
}

/** The place names a request uses, read as asking for tools that take an address or place. */
function placesLine(output: SearchOutput): string | undefined {
  if (!output.places?.length) return undefined;
  const names = output.places.map((p) => `"${p}"`).join(", ");
  return `${names} read as ${output.places.length === 1 ? "a place" : "places"}: tools that take an address or place were searched for too.`;
}

/** Where a score came from, in one line: its parts, the terms matched in each field, learned and related words. */
export function renderExplanation(e: Explanation): string {
  const n = (value: number) => (Math.round(value * 100) / 100).toString();
  const parts = [
    `tool ${n(e.parts.tool)}`,
    `server ${n(e.parts.server)}`,
    `name ${n(e.parts.name)}`,
    `learned ${n(e.parts.learned)}`,
  ].join(" + ");
  const fields = Object.entries(e.fields).map(([field, terms]) => `${field}: ${terms.join(" ")}`);
  const learned = e.learned.map((l) => `${l.term} ${n(l.strength)}`);
  return [
    e.skillBoost !== undefined ? `(${parts}) × ${e.skillBoost} (skill)` : parts,
    ...(fields.length > 0 ? [`matched ${fields.join("; ")}`] : []),
    ...(learned.length > 0 ? [`learned ${learned.join(", ")}`] : []),
    ...(e.related.length > 0 ? [`related ${e.related.join(" ")}`] : []),
  ].join(" | ");
}

export function renderProbe(r: ProbeResult): string {
  const head = r.ok
    ? `${r.tool} answered in ${r.tookMs} ms${r.cached ? " (from cache)" : ""}, from ${r.source}.`
    : `${r.tool} failed: ${r.error ?? "unknown error"}`;
  const lines = [head];
  if (r.ok) {
    lines.push(`shape:\n${r.shape}`);
    if (r.knownShape && r.knownShape !== r.shape)
      lines.push(`shape merged over all answers seen:\n${r.knownShape}`);
    if (r.outputSchema) {
      lines.push(
        r.outputSchema.matches
          ? "matches the declared outputSchema."
          : `does NOT match the declared outputSchema:\n${r.outputSchema.problems.map((p) => `  - ${p}`).join("\n")}\ndeclared:\n${r.outputSchema.declared}`,
      );
    }
  }
  lines.push(
    `sample${r.truncated ? " (trimmed)" : ""}:\n${typeof r.sample === "string" ? r.sample : JSON.stringify(r.sample, null, 2)}`,
  );
  if (r.hint) lines.push(`hint: ${r.hint}`);
  return lines.join("\n");
}

interface StepView {
  index: number;
  label: string;
  ms: number;
  shape: string;
  replayed: boolean;
  open?: true;
  children?: NestedView[];
}

interface NestedView {
  skill: string;
  version: number;
  /** The input as JSON, cut short. */
  input: string;
  status: NestedRun["status"];
  error?: string;
  ms: number;
  steps: StepView[];
}

/** Steps as a client sees them: no values; the saved skills a step called under it, with their own steps. */
function stepsView(steps: StepRecord[]): StepView[] {
  return steps.map(({ index, label, ms, shape, replayed, open, children }) => ({
    index,
    label,
    ms,
    shape,
    replayed,
    ...(open && { open }),
    ...(children && {
      children: children.map(({ skill, version, input, status, error, ms, steps }) => ({
        skill,
        version,
        input,
        status,
        ...(error !== undefined && { error }),
        ms,
        steps: stepsView(steps),
      })),
    }),
  }));
}

/** The run's steps as lines, a nested skill's steps indented under the step that called it. */
function stepLines(steps: StepRecord[], indent: string): string[] {
  return steps.flatMap((s) => {
    const how = s.open ? " (did not complete)" : s.replayed ? " (replayed)" : ` ${s.ms} ms`;
    const head = `${indent}step ${s.index} "${s.label}"${how}${s.open ? "" : ` → ${s.shape}`}`;
    const nested = (s.children ?? []).flatMap((c) => {
      const input = clip(c.input, 80);
      const outcome = c.status === "failed" ? `failed: ${clip(c.error ?? "unknown error", 200)}` : c.status;
      return [
        `${indent}  ↳ skill ${c.skill} v${c.version} ${input}: ${outcome}${s.replayed ? "" : ` in ${c.ms} ms`}`,
        ...stepLines(c.steps, `${indent}    `),
      ];
    });
    return [head, ...nested];
  });
}

/** What a client sees of a run: the record without the anchored values (they can be large). */
export function runView(run: RunRecord) {
  return {
    ok: run.status === "ok",
    runId: run.runId,
    ...(run.skill !== undefined ? { skill: run.skill, version: run.version } : { adHoc: true }),
    result: run.result ?? null,
    steps: stepsView(run.steps),
    calls: run.calls,
    tools: run.tools,
    logs: run.logs,
    tookMs: run.tookMs,
    ...(run.warnings.length > 0 && { warnings: run.warnings }),
    ...(run.resumedFrom && { resumedFrom: run.resumedFrom }),
    ...(run.status === "failed" && {
      error: run.error ?? "unknown error",
      failedStep: run.failedStep ?? null,
      ...(run.limit && { limit: run.limit }),
    }),
  };
}

export function renderRun(run: RunRecord): string {
  const what = run.skill !== undefined ? `Skill "${run.skill}" v${run.version}` : "The code";
  const lines: string[] = [];
  if (run.status === "ok") {
    lines.push(
      `${what} ran in ${run.tookMs} ms (${run.steps.filter((s) => !s.open).length} steps, ${run.calls} calls). runId: ${run.runId}` +
        (run.skill === undefined ? ` (keep it as a skill: save_skill {"fromRun": "${run.runId}", …})` : ""),
    );
  } else {
    const at = run.failedStep ? ` in step ${run.failedStep.index} "${run.failedStep.label}"` : "";
    lines.push(`${what} failed${at}: ${run.error}`);
    lines.push(
      `runId: ${run.runId}. Once the cause is fixed, resume with run_skill {"resume": "${run.runId}"}` +
        (run.skill === undefined ? ` (with "code" too, if the fix is in the code)` : "") +
        ": completed steps are replayed from the record, not called again.",
    );
  }
  if (run.tools.length > 0) lines.push(`tools called: ${run.tools.join(", ")}`);
  lines.push(...stepLines(run.steps, "  "));
  for (const w of run.warnings) lines.push(`warning: ${w}`);
  if (run.logs.length > 0) lines.push(`logs:\n${run.logs.map((l) => `  ${l}`).join("\n")}`);
  if (run.status === "ok") {
    const { sample, truncated } = trimSample(run.result ?? null);
    lines.push(
      `result${truncated ? " (trimmed; the whole value is in structuredContent)" : ""}: ${JSON.stringify(sample, null, 2)}`,
    );
  }
  return lines.join("\n");
}

export function renderSave(outcome: SaveOutcome): string {
  const tested = outcome.testRun
    ? ` The test run passed in ${outcome.testRun.tookMs} ms (${outcome.testRun.steps.length} steps, ${outcome.testRun.calls} calls).`
    : outcome.fromRun !== undefined
      ? ` Its code is that of run ${outcome.fromRun}, which verified it.`
      : " It was saved without a test run.";
  const computed = outcome.computedCalls
    ? " It names some tools at run time: they were not checked or pinned, and it is never marked read-only."
    : "";
  const skills = Object.entries(outcome.skills).map(([name, version]) => `${name} v${version}`);
  return (
    `Saved skill "${outcome.name}" v${outcome.version}; it is now a tool of its own.${tested}${computed}` +
    (outcome.tools.length ? ` Tools pinned: ${outcome.tools.join(", ")}.` : "") +
    (skills.length ? ` Skills it calls, pinned: ${skills.join(", ")}.` : "")
  );
}
