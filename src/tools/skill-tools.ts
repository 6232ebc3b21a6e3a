import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Gateway } from "../gateway.js";
import { META_TOOL } from "../meta-tool-names.js";
import { renderRun, renderSave, runView } from "./format.js";
import { defineMetaTool, type ToolContext } from "./meta-tool.js";

const json = z.record(z.string(), z.unknown());

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
        void context.progress(done + (total ? Math.min(progress / total, 0.99) : 0), undefined, message),
    },
    onStep: (step, count) => {
      done = count;
      void context.progress(count, undefined, `step ${step.index} "${step.label}" done`);
    },
  });
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
  name: META_TOOL.run,
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
