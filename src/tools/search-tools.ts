import { z } from "zod";
import { META_TOOL } from "../meta-tool-names.js";
import { renderSearch } from "./format.js";
import { defineMetaTool, structuredResult } from "./meta-tool.js";

export const searchToolsInput = z.strictObject({
  query: z
    .string()
    .refine(
      (q) => q.trim().length > 0,
      'must not be blank: describe the job, e.g. "read a file" or "send an email"',
    )
    .describe('The job in plain words, e.g. "write text into a file".'),
  limit: z.int().min(1).max(50).default(8).describe("How many results (1-50)."),
  server: z.string().min(1).optional().describe("Only this server's tools (its name in mcp.json)."),
  detail: z
    .enum(["name", "summary", "full"])
    .default("summary")
    .describe('"name": names; "summary": short description, parameters; "full": whole input schema.'),
  explain: z.boolean().default(false).describe("Show where each score came from."),
});

export const searchTools = defineMetaTool({
  name: META_TOOL.search,
  title: "Search tools and skills",
  description:
    "Find the downstream tools and saved skills for a job, best first. Start here: the servers' " +
    "tools are reachable only through search. Names are `server.tool`.",
  input: searchToolsInput,
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  async handler({ query, limit, server, detail, explain }, gateway, context) {
    const output = await gateway.search(
      { query, limit, detail, ...(server !== undefined && { server }), ...(explain && { explain }) },
      context.session,
    );
    return structuredResult(renderSearch(query, output), { ...output });
  },
});
