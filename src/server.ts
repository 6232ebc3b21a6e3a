import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { SkillsmithError } from "./errors.js";
import type { Gateway } from "./gateway.js";
import type { Logger } from "./logger.js";
import { errorResult, formatIssues, type MetaTool } from "./tools/meta-tool.js";
import { runSkill, saveSkill } from "./tools/not-yet.js";
import { probeTool } from "./tools/probe-tool.js";
import { searchTools } from "./tools/search-tools.js";
import { VERSION } from "./version.js";

export const INSTRUCTIONS = `Skillsmith stands in front of many MCP servers. Their tools are not listed directly; work in a loop:
1. search_tools: find the tools (and saved skills) for a job, by plain words. Names are \`server.tool\`.
2. probe_tool: call a tool once for real to see the true shape of its answer before you rely on it.
3. save_skill: freeze working JavaScript that composes tools (call, step, parallel) as a named skill, with a test input.
4. run_skill (or call the skill by its name): reuse it; a failed run can resume from its last completed step.
Prefer an existing skill over rebuilding the same workflow.`;

export const META_TOOLS: readonly MetaTool[] = [searchTools, probeTool, saveSkill, runSkill];

function describeTool(tool: MetaTool): Tool {
  const schema = z.toJSONSchema(tool.input, { io: "input" }) as Tool["inputSchema"];
  delete (schema as Record<string, unknown>).$schema;
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schema,
    annotations: { title: tool.title, ...tool.annotations },
  };
}

/** The MCP server Skillsmith shows to clients: the meta-tools, over any transport. */
export function createServer(gateway: Gateway, logger?: Logger): Server {
  const server = new Server(
    { name: "skillsmith", title: "Skillsmith", version: VERSION },
    { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS },
  );
  const byName = new Map(META_TOOLS.map((t) => [t.name, t]));
  const listed = META_TOOLS.map(describeTool);

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool "${request.params.name}". Skillsmith's tools are ${[...byName.keys()].join(", ")}; ` +
          "downstream tools are found with search_tools.",
      );
    }
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      return errorResult(
        new SkillsmithError(
          "INVALID_ARGUMENTS",
          `Invalid arguments for ${tool.name}:\n${formatIssues(parsed.error.issues)
            .map((l) => `  - ${l}`)
            .join("\n")}`,
          { issues: formatIssues(parsed.error.issues) },
        ),
      );
    }
    const progressToken = request.params._meta?.progressToken;
    try {
      return await tool.handler(parsed.data, gateway, {
        signal: extra.signal,
        async progress(progress, total, message) {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken,
              progress,
              ...(total !== undefined && { total }),
              ...(message && { message }),
            },
          });
        },
      });
    } catch (error) {
      logger?.debug(`${tool.name} failed: ${String(error)}`);
      return errorResult(error, `Tool '${tool.name}' failed`);
    }
  });
  return server;
}
