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
    .describe('What you need done, in plain words, e.g. "write text into a file".'),
  limit: z.int().min(1).max(50).default(8).describe("How many results to return (1-50)."),
  server: z
    .string()
    .min(1)
    .optional()
    .describe("Only search the tools of this server (its name in mcp.json)."),
  detail: z
    .enum(["name", "summary", "full"])
    .default("summary")
    .describe('"name": names only; "summary": short description and parameters; "full": whole input schema.'),
});

export const searchTools = defineMetaTool({
  name: META_TOOL.search,
  title: "Search tools and skills",
  description:
    "Find the downstream tools and saved skills that fit a job, ranked by relevance. Start here: " +
    "the tools of every connected server are reachable only through search. Names come as `server.tool`.",
  input: searchToolsInput,
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  async handler({ query, limit, server, detail }, gateway, context) {
    const output = await gateway.search(
      { query, limit, detail, ...(server !== undefined && { server }) },
      context.session,
    );
    return structuredResult(renderSearch(query, output), { ...output });
  },
});
