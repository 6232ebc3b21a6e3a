import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  RootsListChangedNotificationSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { errorMessage, problemsError } from "./errors.js";
import type { Gateway } from "./gateway.js";
import type { Logger } from "./logger.js";
import { callsLine, skillEffects } from "./skills/annotations.js";
import type { Skill } from "./skills/skill-store.js";
import { errorResult, formatIssues, type MetaTool, type ToolContext } from "./tools/meta-tool.js";
import { probeTool } from "./tools/probe-tool.js";
import { searchTools } from "./tools/search-tools.js";
import { runSkill, runSkillTool, saveSkill } from "./tools/skill-tools.js";
import { VERSION } from "./version.js";

export const INSTRUCTIONS = `Skillsmith stands in front of many MCP servers. Their tools are not listed directly; work in a loop:
1. search_tools: find the tools (and saved skills) for a job, in plain words. Names are \`server.tool\`.
2. probe_tool: call a read-only tool once to see the true shape of its answer before code relies on it.
3. run_skill with \`code\`: run JavaScript that composes tools (call, step, parallel), ad hoc and for real.
4. save_skill with \`fromRun\`: keep the code of a run that worked as a skill, a tool of its own.
Prefer an existing skill over rebuilding one: code calls a saved skill by its name, call("skill-name", input), as a
part of a bigger one. A failed run resumes from its last completed step.`;

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

/** The meta-tools' definitions, built once: an HTTP gateway creates a server per session. */
const META_TOOL_LIST: readonly Tool[] = META_TOOLS.map(describeTool);

function describeSkill(skill: Skill, gateway: Gateway): Tool {
  const effects = skillEffects(skill, gateway.catalog, gateway.skills.get);
  return {
    name: skill.name,
    title: skill.name,
    description: `${skill.description} (a saved skill, v${skill.version}; ${callsLine(effects)})`,
    inputSchema: skill.inputSchema as Tool["inputSchema"],
    annotations: { title: skill.name, ...effects.annotations },
  };
}

/** The MCP server Skillsmith shows to clients: the meta-tools and every saved skill, over any transport. */
export function createServer(gateway: Gateway, logger?: Logger): Server {
  const server = new Server(
    { name: "skillsmith", title: "Skillsmith", version: VERSION },
    { capabilities: { tools: { listChanged: true }, logging: {} }, instructions: INSTRUCTIONS },
  );
  const byName = new Map(META_TOOLS.map((t) => [t.name, t]));
  // One server per client session (stdio, or one per HTTP session): searches and the uses that follow meet here.
  const session = randomUUID();
  const stopListening = gateway.skills.onChange(() => {
    server
      .sendToolListChanged()
      .catch((error: unknown) =>
        logger?.debug(`could not announce the new tool list: ${errorMessage(error)}`),
      );
  });
  // A client with roots offers them to the downstream servers for as long as it is connected.
  let withdrawRoots = () => {};
  server.oninitialized = () => {
    if (!server.getClientCapabilities()?.roots) return;
    withdrawRoots = gateway.offerRoots({ listRoots: async () => (await server.listRoots()).roots });
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => gateway.rootsChanged());
  };
  server.onclose = () => {
    stopListening();
    withdrawRoots();
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...META_TOOL_LIST, ...gateway.skills.list().map((skill) => describeSkill(skill, gateway))],
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const tool = byName.get(name);
    const progressToken = request.params._meta?.progressToken;
    let lastProgress = 0;
    const progress: ToolContext["progress"] = async (value, total, message) => {
      if (progressToken === undefined) return;
      // The spec wants every notification's progress above the one before; sources mix (steps, tools).
      lastProgress = value > lastProgress ? value : lastProgress + 0.001;
      // A client that went away cannot be told; the work goes on, and its answer fails on its own.
      await extra
        .sendNotification({
          method: "notifications/progress",
          params: {
            progressToken,
            progress: lastProgress,
            ...(total !== undefined && { total }),
            ...(message && { message }),
          },
        })
        .catch((error: unknown) => logger?.debug(`could not send progress: ${errorMessage(error)}`));
    };
    const client = server.getClientCapabilities() ?? {};
    const context: ToolContext = {
      session,
      signal: extra.signal,
      progress,
      relay: {
        ...(progressToken !== undefined && {
          progress: ({ progress: value, total, message }) => void progress(value, total, message),
        }),
        log: (message) =>
          void server.sendLoggingMessage(message, extra.sessionId).catch((error: unknown) => {
            logger?.debug(`could not pass a log message on to the client: ${String(error)}`);
          }),
        ...(client.elicitation && {
          elicit: (params, signal) =>
            extra.sendRequest({ method: "elicitation/create", params }, ElicitResultSchema, { signal }),
        }),
        ...(client.sampling && {
          sample: (params, signal) =>
            extra.sendRequest({ method: "sampling/createMessage", params }, CreateMessageResultSchema, {
              signal,
            }),
        }),
      },
    };
    if (!tool) {
      // A skill saved on another instance a moment ago may not be known here yet: `find` asks the store.
      if (await gateway.skills.find(name)) {
        return runSkillTool(gateway, { name, input: request.params.arguments ?? {} }, context).catch(
          (error: unknown) => errorResult(error, `Skill '${name}' failed`),
        );
      }
      // A plain Error with a code: the SDK sends its message as is, where McpError's would carry an
      // "MCP error -32602:" prefix that the client's McpError then adds a second time.
      throw Object.assign(
        new Error(
          `Unknown tool "${name}". Skillsmith's tools are ${[...byName.keys()].join(", ")} and the saved skills; ` +
            "downstream tools are found with search_tools and called through probe_tool or skills.",
        ),
        { code: ErrorCode.InvalidParams },
      );
    }
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      return errorResult(
        problemsError(
          "INVALID_ARGUMENTS",
          `Invalid arguments for ${tool.name}`,
          formatIssues(parsed.error.issues),
        ),
      );
    }
    try {
      return await tool.handler(parsed.data, gateway, context);
    } catch (error) {
      logger?.debug(`${tool.name} failed: ${String(error)}`);
      return errorResult(error, `Tool '${tool.name}' failed`);
    }
  });
  return server;
}
