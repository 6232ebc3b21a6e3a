import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ProbeResult } from "../probe/prober.js";
import { defineMetaTool } from "./meta-tool.js";

const input = z.strictObject({
  tool: z.string().min(1).describe("The tool to call, as `server.tool` (names come from search_tools)."),
  arguments: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("Arguments for the tool, matching its input schema."),
  allowSideEffects: z
    .boolean()
    .default(false)
    .describe(
      'Allow calling a tool not annotated read-only; also needs the server\'s probe: "any" in mcp.json.',
    ),
  fresh: z.boolean().default(false).describe("Call again even if an identical read-only probe is cached."),
});

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

export const probeTool = defineMetaTool({
  name: "probe_tool",
  title: "Probe a tool",
  description:
    "Call one downstream tool for real and get the verified shape of its answer (a TypeScript-like type) and a " +
    "trimmed sample, so code is written against what the tool truly returns. Arguments are checked first. " +
    "Only tools annotated read-only are called unless allowSideEffects is given and the server allows it.",
  input,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, gateway, context): Promise<CallToolResult> {
    const { blocks = [], ...result } = await gateway.probe(args, {
      signal: context.signal,
      relay: context.relay,
    });
    // Images, audio and resources come back as themselves beside the text, so the client can show them.
    return {
      content: [{ type: "text", text: renderProbe(result) }, ...(blocks as CallToolResult["content"])],
      structuredContent: result,
      isError: !result.ok,
    };
  },
});
