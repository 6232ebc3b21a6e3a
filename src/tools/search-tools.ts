import { z } from "zod";
import type { SearchOutput } from "../gateway.js";
import { defineMetaTool, structuredResult } from "./meta-tool.js";

const input = z.strictObject({
  query: z
    .string()
    .refine(
      (q) => q.trim().length > 0,
      'must not be blank: describe the job, e.g. "read a file" or "send an email"',
    )
    .describe('What you need done, in plain words: "write text into a file", "create a GitHub issue".'),
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

function render(query: string, output: SearchOutput): string {
  if (output.results.length === 0) {
    const waiting = output.connecting?.length
      ? ` ${output.connecting.join(", ")} ${output.connecting.length === 1 ? "is" : "are"} still connecting; search again in a moment.`
      : " Try other words for the job, or drop the server filter.";
    return `No tools match "${query}".${waiting}`;
  }
  const lines = [`${output.results.length} of ${output.total} matches for "${query}":`];
  for (const r of output.results) {
    lines.push(`- ${r.name} (${r.kind}, score ${r.score})${r.description ? ` — ${r.description}` : ""}`);
    if (r.params !== undefined) lines.push(`  params: ${r.params || "none"}`);
    if (r.returns !== undefined) lines.push(`  returns: ${r.returns}`);
    if (r.inputSchema) lines.push(`  inputSchema: ${JSON.stringify(r.inputSchema)}`);
  }
  if (output.connecting?.length) {
    lines.push(`(${output.connecting.join(", ")} still connecting: not searched yet.)`);
  }
  return lines.join("\n");
}

export const searchTools = defineMetaTool({
  name: "search_tools",
  title: "Search tools and skills",
  description:
    "Find the downstream tools and saved skills that fit a job, ranked by relevance. Start here: " +
    "the tools of every connected server are reachable only through search. Names come as `server.tool`.",
  input,
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  async handler({ query, limit, server, detail }, gateway) {
    const output = await gateway.search({ query, limit, detail, ...(server !== undefined && { server }) });
    return structuredResult(render(query, output), { ...output });
  },
});
