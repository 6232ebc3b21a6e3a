import { createHash } from "node:crypto";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const jsonObject = z.record(z.string(), z.unknown());

export const toolRecordSchema = z.object({
  /** `server.tool` — the name agents use. */
  name: z.string(),
  server: z.string(),
  /** The tool's own name on its server. */
  tool: z.string(),
  title: z.string().optional(),
  description: z.string(),
  inputSchema: jsonObject,
  outputSchema: jsonObject.optional(),
  annotations: jsonObject,
  /** Pins the definition: sha256 of the fields above that define behaviour. */
  hash: z.string(),
});

export type ToolRecord = z.infer<typeof toolRecordSchema>;

/** JSON with sorted keys, so equal definitions hash equally whatever order a server sends. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function toToolRecord(server: string, tool: Tool): ToolRecord {
  const title = tool.title ?? tool.annotations?.title;
  const definition = {
    name: tool.name,
    title,
    description: tool.description ?? "",
    inputSchema: tool.inputSchema as Record<string, unknown>,
    outputSchema: tool.outputSchema as Record<string, unknown> | undefined,
    annotations: { ...tool.annotations },
  };
  const hash = createHash("sha256").update(canonicalJson(definition)).digest("hex").slice(0, 16);
  return {
    name: `${server}.${tool.name}`,
    server,
    tool: tool.name,
    ...(title !== undefined && { title }),
    description: definition.description,
    inputSchema: definition.inputSchema,
    ...(definition.outputSchema !== undefined && { outputSchema: definition.outputSchema }),
    annotations: definition.annotations,
    hash,
  };
}
