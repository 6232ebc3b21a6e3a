import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { META_TOOL } from "../meta-tool-names.js";
import { renderProbe } from "./format.js";
import { defineMetaTool } from "./meta-tool.js";

const input = z.strictObject({
  tool: z.string().min(1).describe("The tool to call, `server.tool` (from search_tools)."),
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
  fresh: z.boolean().default(false).describe("Call again even if cached."),
});

export const probeTool = defineMetaTool({
  name: META_TOOL.probe,
  title: "Probe a tool",
  description:
    "Call one downstream tool for real and get the verified shape of its answer (a TypeScript-like type) and a " +
    "trimmed sample, so code fits what the tool truly returns. Only tools annotated read-only " +
    "are called, unless allowSideEffects is given and the server allows it.",
  input,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, gateway, context): Promise<CallToolResult> {
    const { blocks = [], ...result } = await gateway.probe(args, {
      signal: context.signal,
      relay: context.relay,
      ...(context.session !== undefined && { session: context.session }),
    });
    // Images, audio and resources come back as themselves beside the text, so the client can show them.
    return {
      content: [{ type: "text", text: renderProbe(result) }, ...(blocks as CallToolResult["content"])],
      structuredContent: result,
      isError: !result.ok,
    };
  },
});
