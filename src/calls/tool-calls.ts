import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog } from "../catalog/catalog.js";
import type { ToolRecord } from "../catalog/tool-record.js";
import type { CallRelay } from "../downstream/connection.js";
import { payloadOf } from "../downstream/payload.js";
import type { Pool } from "../downstream/pool.js";
import { errorMessage, problemsError, SkillsmithError } from "../errors.js";
import { compileSchema, describeErrors } from "../json-schema.js";
import type { Logger } from "../logger.js";
import { noObserver, type Observer } from "../ops/metrics.js";
import type { Observations } from "../shapes/observations.js";
import { isEmptyValue, type Shape, shapeOf } from "../shapes/shape.js";

/** A call that is resolved and whose arguments fit the tool's schema: ready to go out. */
export interface PreparedCall {
  tool: ToolRecord;
  args: Record<string, unknown>;
  /** Why the tool's input schema could not be used to check the arguments (they are passed as given). */
  unchecked?: string;
}

export interface CallOutcome {
  result: CallToolResult;
  /** What the answer means as a value (see payloadOf); meaningless when `result.isError`. */
  value: unknown;
  tookMs: number;
  /** The shape of this answer's value; undefined for an empty or error answer (it teaches nothing). */
  seen: Shape | undefined;
  /** The tool's shape merged over every answer seen, once this one is recorded (undefined for empty or error answers). */
  observed: Promise<Shape | undefined>;
}

export interface InvokeOptions {
  signal?: AbortSignal;
  /** Where the downstream server's progress, logs and requests for this call go (the client that asked). */
  relay?: CallRelay;
}

/**
 * The one way a downstream tool is called, by probe_tool and by skills alike:
 * resolve (waiting for a server still connecting) → validate → pool.call → payload → observe.
 */
export interface ToolCalls {
  /** Finds `server.tool`; waits for its server's first listing if it is still connecting. */
  resolve(name: string, signal?: AbortSignal): Promise<ToolRecord>;
  /** Resolves, then checks the arguments against the tool's input schema; nothing is called. */
  prepare(name: string, args: unknown, signal?: AbortSignal): Promise<PreparedCall>;
  /** Calls the tool; every answer that is not an error teaches its shape. */
  invoke(call: PreparedCall, options?: InvokeOptions): Promise<CallOutcome>;
}

export interface ToolCallsOptions {
  catalog: Catalog;
  pool: Pool;
  observations: Observations;
  logger: Logger;
  /** Told of every call's outcome and time (metrics). */
  observer?: Observer;
}

const invalidArguments = (tool: string, problems: string[]) =>
  problemsError("INVALID_ARGUMENTS", `Invalid arguments for ${tool} (nothing was called)`, problems, {
    tool,
  });

export function createToolCalls(options: ToolCallsOptions): ToolCalls {
  const { catalog, pool, observations, logger } = options;
  const observer = options.observer ?? noObserver;

  function notFound(name: string): SkillsmithError {
    const words = name.replace(/[._-]+/g, " ").trim();
    const suggestions = words ? catalog.search({ query: words, limit: 3 }).hits.map((h) => h.entry.name) : [];
    const format = name.includes(".") ? "" : ' Tools are named "server.tool", e.g. "files.read_text_file".';
    return new SkillsmithError(
      "TOOL_NOT_FOUND",
      `Unknown tool "${name}".${format}${suggestions.length ? ` Did you mean: ${suggestions.join(", ")}?` : ""} Use search_tools to find tools.`,
      { tool: name, suggestions },
    );
  }

  async function resolve(name: string, signal?: AbortSignal): Promise<ToolRecord> {
    const known = catalog.get(name);
    if (known) return known;
    // Server names hold no dot, so the first dot ends it. A server still listing may yet have the tool.
    const server = name.slice(0, Math.max(0, name.indexOf(".")));
    if (server && pool.servers().includes(server)) {
      await pool.ready(server, signal);
      const listed = catalog.get(name);
      if (listed) return listed;
    }
    throw notFound(name);
  }

  async function prepare(name: string, args: unknown, signal?: AbortSignal): Promise<PreparedCall> {
    const tool = await resolve(name, signal);
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw invalidArguments(tool.name, ["(arguments): expected an object of named arguments"]);
    }
    const validate = compileSchema(tool.inputSchema);
    if (validate instanceof Error) {
      return { tool, args: args as Record<string, unknown>, unchecked: validate.message };
    }
    if (!validate(args)) {
      throw invalidArguments(tool.name, describeErrors(validate.errors));
    }
    return { tool, args: args as Record<string, unknown> };
  }

  return {
    resolve,
    prepare,
    async invoke({ tool, args }, invokeOptions = {}) {
      const started = performance.now();
      let result: CallToolResult;
      try {
        result = await pool.call(tool.server, tool.tool, args, invokeOptions);
      } catch (error) {
        observer.call(tool, "failed", performance.now() - started);
        throw error;
      }
      const elapsed = performance.now() - started;
      observer.call(tool, result.isError ? "error" : "ok", elapsed);
      const tookMs = Math.round(elapsed);
      const value = result.isError ? null : payloadOf(result);
      // Computed once here for every caller: the probe shows it, the memory of shapes merges it.
      const seen = result.isError || isEmptyValue(value) ? undefined : shapeOf(value);
      const observed =
        seen === undefined
          ? Promise.resolve(undefined)
          : observations.record(tool, seen).catch((error: unknown) => {
              logger.debug(`could not record the shape of ${tool.name}: ${errorMessage(error)}`);
              return undefined;
            });
      return { result, value, tookMs, seen, observed };
    },
  };
}
