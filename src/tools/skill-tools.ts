import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Gateway } from "../gateway.js";
import { trimSample } from "../shapes/sample.js";
import type { RunRecord } from "../skills/runner.js";
import type { SaveOutcome } from "../skills/skills.js";
import { defineMetaTool, type ToolContext } from "./meta-tool.js";

const json = z.record(z.string(), z.unknown());

/** What a client sees of a run: the record without the anchored values (they can be large). */
export function runView(run: RunRecord) {
  return {
    ok: run.status === "ok",
    runId: run.runId,
    skill: run.skill,
    version: run.version,
    result: run.result ?? null,
    steps: run.steps.map(({ index, label, ms, shape, replayed }) => ({ index, label, ms, shape, replayed })),
    calls: run.calls,
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
  const lines: string[] = [];
  if (run.status === "ok") {
    lines.push(
      `Skill "${run.skill}" v${run.version} ran in ${run.tookMs} ms (${run.steps.length} steps, ${run.calls} calls). runId: ${run.runId}`,
    );
  } else {
    const at = run.failedStep ? ` in step ${run.failedStep.index} "${run.failedStep.label}"` : "";
    lines.push(`Skill "${run.skill}" v${run.version} failed${at}: ${run.error}`);
    lines.push(
      `runId: ${run.runId}. Once the cause is fixed, resume with run_skill {"name": "${run.skill}", "resume": "${run.runId}"}: ` +
        "completed steps are replayed from the record, not called again.",
    );
  }
  for (const s of run.steps) {
    lines.push(`  step ${s.index} "${s.label}"${s.replayed ? " (replayed)" : ` ${s.ms} ms`} → ${s.shape}`);
  }
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

/** Runs a skill for run_skill and for a skill called as a tool, with a progress notification per step. */
export async function runSkillTool(
  gateway: Gateway,
  name: string,
  input: unknown,
  context: ToolContext,
  options: { resume?: string; timeoutMs?: number } = {},
): Promise<CallToolResult> {
  let done = 0;
  const run = await gateway.skills.run(name, input, {
    ...options,
    // Under the run's progress token, a tool's own progress moves the count within the step under way.
    relay: {
      ...context.relay,
      progress: ({ progress, total, message }) =>
        void context
          .progress(done + (total ? Math.min(progress / total, 0.99) : 0), undefined, message)
          .catch(() => {}),
    },
    onStep: (step, count) => {
      done = count;
      void context.progress(count, undefined, `step ${step.index} "${step.label}" done`).catch(() => {});
    },
  });
  return {
    content: [{ type: "text", text: renderRun(run) }],
    structuredContent: runView(run),
    isError: run.status !== "ok",
  };
}

function renderSave(outcome: SaveOutcome): string {
  const tested = outcome.testRun
    ? ` The test run passed in ${outcome.testRun.tookMs} ms (${outcome.testRun.steps.length} steps, ${outcome.testRun.calls} calls).`
    : " It was saved without a test run.";
  return (
    `Saved skill "${outcome.name}" v${outcome.version}; it is now a tool of its own.${tested}` +
    (outcome.tools.length ? ` Tools pinned: ${outcome.tools.join(", ")}.` : "")
  );
}

export const saveSkill = defineMetaTool({
  name: "save_skill",
  title: "Save a skill",
  description:
    "Freeze working JavaScript that composes tools into a reusable skill; it becomes a tool of its own. The code is an " +
    'ES module: `export default async function run(input, { call, step, parallel, log }) { … }` — call("server.tool", args) ' +
    "returns the tool's answer (structured content, else parsed JSON, else text); step(label, fn) records an anchor a " +
    "failed run resumes from; parallel(items, fn, { concurrency }) maps with a bound. No Node APIs, network or files. " +
    "With `test`, the skill runs first and is saved only if that run succeeds.",
  input: z.strictObject({
    name: z.string().describe("Skill name: ^[a-z][a-z0-9_-]{0,47}$; it becomes the tool's name."),
    description: z.string().describe("What the skill does, for search_tools and the tool list."),
    code: z.string().min(1).describe("The ES module source."),
    inputSchema: json
      .optional()
      .describe('JSON Schema of the input, {"type": "object", …}; default: any object.'),
    test: z
      .strictObject({ input: json })
      .optional()
      .describe("Run on this input first; save only if it succeeds."),
    overwrite: z
      .boolean()
      .default(false)
      .describe("Replace an existing skill of the same name (the old version is kept)."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(request, gateway, context) {
    const outcome = await gateway.skills.save(request, { relay: context.relay });
    const structured = {
      name: outcome.name,
      version: outcome.version,
      tools: outcome.tools,
      ...(outcome.testRun && { testRun: runView(outcome.testRun) }),
    };
    return { content: [{ type: "text", text: renderSave(outcome) }], structuredContent: structured };
  },
});

export const runSkill = defineMetaTool({
  name: "run_skill",
  title: "Run a skill",
  description:
    "Run a saved skill in the sandbox. Each step is recorded; a failed run returns a runId, and `resume: runId` runs the " +
    "code again with completed steps replayed from the record (nothing called twice), then goes on live.",
  input: z.strictObject({
    name: z.string().min(1).describe("The skill to run."),
    input: json.default({}).describe("Input for the skill, matching its inputSchema."),
    resume: z
      .string()
      .min(1)
      .optional()
      .describe("The runId of a failed run to resume from its last completed step."),
    timeoutMs: z
      .int()
      .min(100)
      .max(3_600_000)
      .optional()
      .describe("Wall-time limit for this run in milliseconds."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  handler: (request, gateway, context) =>
    runSkillTool(gateway, request.name, request.input, context, {
      ...(request.resume !== undefined && { resume: request.resume }),
      ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
    }),
});
