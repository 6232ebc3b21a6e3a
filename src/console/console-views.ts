import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog } from "../catalog/catalog.js";
import type { ServerStatus } from "../downstream/connection.js";
import { trimSample } from "../shapes/sample.js";
import { skillEffects } from "../skills/annotations.js";
import type { RunRecord } from "../skills/runner.js";
import type { Skill } from "../skills/skill-store.js";
import { diffCode, highlightCode } from "./code-view.js";

/** What the console's pages show, as JSON: views of the gateway's own records, never a second source of truth. */

export function serverView(status: ServerStatus) {
  return { ...status, restarts: Math.max(0, status.attempts - 1) };
}

/** A tool a skill pinned, as it is now: same definition, changed since the save, or gone. */
function pinView(name: string, pin: string, catalog: Catalog) {
  const now = catalog.get(name);
  const annotations: ToolAnnotations = now?.annotations ?? {};
  return {
    name,
    pin,
    status: !now ? ("missing" as const) : now.hash === pin ? ("pinned" as const) : ("changed" as const),
    ...(now && now.hash !== pin && { current: now.hash }),
    // MCP's default for a tool that does not say it only reads: it may write.
    writes: annotations.readOnlyHint !== true,
  };
}

/** A saved skill a skill calls, pinned to the version it had at save time: the same now, re-saved, or gone. */
function calleeView(name: string, pinned: number, lookup: SkillLookup) {
  const now = lookup(name);
  return {
    name,
    pinned,
    status: !now ? ("missing" as const) : now.version === pinned ? ("pinned" as const) : ("changed" as const),
    ...(now && now.version !== pinned && { current: now.version }),
  };
}

export type SkillLookup = (name: string) => Skill | undefined;

export function skillSummary(skill: Skill, catalog: Catalog, lookup: SkillLookup) {
  const effects = skillEffects(skill, catalog, lookup);
  const tools = Object.entries(skill.tools)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, pin]) => pinView(name, pin, catalog));
  const skills = Object.entries(skill.skills ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, pinned]) => calleeView(name, pinned, lookup));
  return {
    name: skill.name,
    description: skill.description,
    version: skill.version,
    createdAt: skill.createdAt,
    updatedAt: skill.updatedAt,
    tools,
    skills,
    annotations: effects.annotations,
    computedCalls: effects.computedCalls,
    writes: effects.annotations.readOnlyHint !== true,
    drift: [...tools, ...skills].filter((t) => t.status !== "pinned").length,
  };
}

export function skillDetail(skill: Skill, versions: Skill[], catalog: Catalog, all: Skill[]) {
  const lookup: SkillLookup = (name) => all.find((s) => s.name === name);
  return {
    ...skillSummary(skill, catalog, lookup),
    usedBy: all.filter((s) => s.skills?.[skill.name] !== undefined).map((s) => s.name),
    inputSchema: skill.inputSchema,
    ...(skill.fromRun !== undefined && { fromRun: skill.fromRun }),
    code: skill.code,
    codeHtml: highlightCode(skill.code),
    versions: versions.map((v) => ({
      version: v.version,
      updatedAt: v.updatedAt,
      description: v.description,
      lines: v.code.replace(/\n$/, "").split("\n").length,
    })),
  };
}

export function versionView(skill: Skill) {
  return {
    name: skill.name,
    version: skill.version,
    updatedAt: skill.updatedAt,
    code: skill.code,
    codeHtml: highlightCode(skill.code),
  };
}

export function diffView(name: string, from: Skill, to: Skill) {
  return { name, from: from.version, to: to.version, hunks: diffCode(from.code, to.code) };
}

export function runSummary(run: RunRecord) {
  return {
    runId: run.runId,
    ...(run.skill !== undefined ? { skill: run.skill, version: run.version } : { adHoc: true }),
    status: run.status,
    startedAt: run.startedAt,
    tookMs: run.tookMs,
    steps: run.steps.length,
    calls: run.calls,
    ...(run.error !== undefined && { error: run.error }),
    ...(run.failedStep && { failedStep: run.failedStep }),
    ...(run.resumedFrom && { resumedFrom: run.resumedFrom }),
    ...(run.resumedBy && { resumedBy: run.resumedBy }),
  };
}

/**
 * What the timeline shows of a step, and of a saved skill a step called (its `steps` nested under the step's
 * `children`); never a step's anchored value (it may be large, and stays in the store for a resume).
 */
const NODE_FIELDS = [
  "index",
  "label",
  "ms",
  "shape",
  "replayed",
  "open",
  "calls",
  "tools",
  "skill",
  "version",
  "input",
  "status",
  "error",
];

/** A step, or a nested skill's run, as the timeline shows it: nested steps keep the same form, however deep. */
function stepView(node: unknown): unknown {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return node;
  const fields = node as Record<string, unknown>;
  const view: Record<string, unknown> = {};
  for (const key of NODE_FIELDS) if (fields[key] !== undefined) view[key] = fields[key];
  if (Array.isArray(fields.children)) view.children = fields.children.map(stepView);
  if (Array.isArray(fields.steps)) view.steps = fields.steps.map(stepView);
  return view;
}

export function runDetail(run: RunRecord) {
  const result = run.result === undefined ? undefined : trimSample(run.result);
  return {
    ...runSummary(run),
    input: run.input,
    steps: run.steps.map(stepView),
    tools: run.tools,
    logs: run.logs,
    warnings: run.warnings,
    ...(run.limit && { limit: run.limit }),
    ...(result && { result: result.sample, resultTrimmed: result.truncated }),
    ...(run.code !== undefined && { code: run.code, codeHtml: highlightCode(run.code) }),
    resumable: run.status === "failed",
  };
}
