import { z } from "zod";
import { SkillsmithError } from "../errors.js";
import { defineMetaTool, errorResult } from "./meta-tool.js";

const notYet = (what: string) => async () =>
  errorResult(
    new SkillsmithError(
      "NOT_AVAILABLE",
      `${what} is not available in this version of Skillsmith yet. Use search_tools.`,
    ),
  );

const json = z.record(z.string(), z.unknown());

export const saveSkill = defineMetaTool({
  name: "save_skill",
  title: "Save a skill",
  description:
    "Freeze verified JavaScript that composes tools into a reusable skill; it becomes a tool of its own. " +
    "With `test`, the skill runs first and is saved only if that run succeeds.",
  input: z.strictObject({
    name: z.string().describe("Skill name: lowercase letters, digits, '_' or '-'."),
    description: z.string().describe("What the skill does, for search and for the tool list."),
    code: z
      .string()
      .describe("An ES module: export default async function run(input, { call, step, parallel, log })."),
    inputSchema: json.optional().describe("JSON Schema of the skill's input."),
    test: z.strictObject({ input: json }).optional().describe("Run on this input before saving."),
    overwrite: z.boolean().default(false).describe("Replace an existing skill of the same name."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  handler: notYet("save_skill"),
});

export const runSkill = defineMetaTool({
  name: "run_skill",
  title: "Run a skill",
  description:
    "Run a saved skill in the sandbox; each `step` is recorded so a failed run can resume from its last anchor.",
  input: z.strictObject({
    name: z.string().describe("The skill to run."),
    input: json.default({}).describe("Input for the skill, matching its input schema."),
    resume: z
      .string()
      .optional()
      .describe("The runId of a failed run to resume from its last completed step."),
    timeoutMs: z.int().min(1).optional().describe("Wall-time limit for this run in milliseconds."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  handler: notYet("run_skill"),
});
