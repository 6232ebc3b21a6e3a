import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Gateway } from "../gateway.js";
import { META_TOOL } from "../meta-tool-names.js";
import type { RunRequest } from "../skills/skills.js";
import { renderRun, renderSave, runView } from "./format.js";
import { defineMetaTool, type ToolContext } from "./meta-tool.js";

const json = z.record(z.string(), z.unknown());

/** Runs a skill (saved or ad hoc) for run_skill and for a skill called as a tool, with a progress notification per step. */
export async function runSkillTool(
  gateway: Gateway,
  request: RunRequest,
  context: ToolContext,
  options: { timeoutMs?: number } = {},
): Promise<CallToolResult> {
  let done = 0;
  const run = await gateway.skills.run(request, {
    ...options,
    // Under the run's progress token, a tool's own progress moves the count within the step under way.
    relay: {
      ...context.relay,
      progress: ({ progress, total, message }) =>
        void context.progress(done + (total ? Math.min(progress / total, 0.99) : 0), undefined, message),
    },
    onStep: (step, count) => {
      done = count;
      void context.progress(count, undefined, `step ${step.index} "${step.label}" done`);
    },
  });
  // The tools a run called were found for the session's last searches (and so was the skill it ran).
  if (run.status === "ok") {
    await gateway.used(context.session, {
      tools: [...(run.skill !== undefined ? [run.skill] : []), ...run.tools],
    });
  }
  return {
    content: [{ type: "text", text: renderRun(run) }],
    structuredContent: runView(run),
    isError: run.status !== "ok",
  };
}

export const saveSkill = defineMetaTool({
  name: META_TOOL.save,
  title: "Save a skill",
  description:
    "Keep code that worked as a skill, a tool of its own: `fromRun` (a successful run_skill's runId) or `code` " +
    "with an optional `test` input it runs first — calling real tools, which may change things.",
  input: z
    .strictObject({
      name: z.string().describe("Skill name: ^[a-z][a-z0-9_-]{0,47}$; it becomes the tool's name."),
      description: z.string().describe("What the skill does (search finds it by this)."),
      fromRun: z.string().min(1).optional().describe("A successful run's runId: its code is saved."),
      code: z.string().min(1).optional().describe("Or the code itself (an ES module, as run_skill takes)."),
      inputSchema: json
        .optional()
        .describe('JSON Schema of the input, {"type": "object", …}; default: any object.'),
      test: z
        .strictObject({ input: json })
        .optional()
        .describe("With code: run on this input first, save only if it succeeds."),
      overwrite: z.boolean().default(false).describe("Replace a skill of that name (the old one is kept)."),
    })
    .refine((r) => (r.code === undefined) !== (r.fromRun === undefined), {
      message: "give either code or fromRun (the runId of a run that succeeded)",
      path: ["code"],
    }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(request, gateway, context) {
    const outcome = await gateway.skills.save(request, { relay: context.relay });
    // The requests that led to a skill, and its description, count for it and for the tools and skills it calls.
    await gateway.used(context.session, {
      tools: [outcome.name, ...outcome.tools, ...Object.keys(outcome.skills)],
      text: request.description,
    });
    const structured = {
      name: outcome.name,
      version: outcome.version,
      tools: outcome.tools,
      ...(Object.keys(outcome.skills).length > 0 && { skills: outcome.skills }),
      computedCalls: outcome.computedCalls,
      ...(outcome.fromRun && { fromRun: outcome.fromRun }),
      ...(outcome.testRun && { testRun: runView(outcome.testRun) }),
    };
    return { content: [{ type: "text", text: renderSave(outcome) }], structuredContent: structured };
  },
});

export const runSkill = defineMetaTool({
  name: META_TOOL.run,
  title: "Run code or a skill",
  description:
    "Run code ad hoc (`code`) or a saved skill (`name`) in a sandbox; its calls reach real tools and may change " +
    "things. Code: `export default async function run(input, { call, step, parallel, log }) {…}`; " +
    'call("server.tool", args) gives the answer (structured content, else parsed JSON, else text), call("skill-name", ' +
    "input) runs a saved skill inside the run and gives its result; step(label, fn) " +
    "records an anchor; parallel(items, fn, { concurrency }) maps with a bound; no Node APIs. The runId saves the " +
    "code (save_skill fromRun) or resumes a failed run (`resume`), replaying its completed steps.",
  input: z
    .strictObject({
      name: z.string().min(1).optional().describe("A saved skill to run."),
      code: z.string().min(1).optional().describe("Or code to run ad hoc."),
      input: json.default({}).describe("Input, matching the skill's inputSchema."),
      resume: z.string().min(1).optional().describe("The runId of a failed run to resume."),
      timeoutMs: z.int().min(100).max(3_600_000).optional().describe("Wall-time limit for this run (ms)."),
    })
    .refine((r) => !(r.name !== undefined && r.code !== undefined), {
      message: "give either name or code, not both",
      path: ["code"],
    })
    .refine((r) => r.name !== undefined || r.code !== undefined || r.resume !== undefined, {
      message: "give name (a saved skill) or code (to run ad hoc)",
      path: ["name"],
    }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  handler: (request, gateway, context) =>
    runSkillTool(
      gateway,
      {
        input: request.input,
        ...(request.name !== undefined && { name: request.name }),
        ...(request.code !== undefined && { code: request.code }),
        ...(request.resume !== undefined && { resume: request.resume }),
      },
      context,
      request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {},
    ),
});
