import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import type { ToolRecord } from "../catalog/tool-record.js";
import type { ServerOptions } from "../config.js";
import { errorTextOf, payloadOf } from "../downstream/payload.js";
import type { Pool } from "../downstream/pool.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { StateStore } from "../store/state-store.js";
import { compileSchema, describeErrors, validateAgainst } from "../json-schema.js";
import type { Observations } from "../shapes/observations.js";
import { probeRefusal } from "./policy.js";
import { createProbeCache } from "./probe-cache.js";
import { trimSample } from "../shapes/sample.js";
import { hasUnseenParts, isEmptyValue, renderShape, shapeOf, shapeOfSchema } from "../shapes/shape.js";

export interface ProbeRequest {
  tool: string;
  arguments: Record<string, unknown>;
  allowSideEffects: boolean;
  fresh: boolean;
}

export const probeResultSchema = z.object({
  tool: z.string(),
  ok: z.boolean(),
  /** The tool itself answered with isError: true. */
  isError: z.boolean(),
  /** TypeScript-like type of the answer, or why none could be seen. */
  shape: z.string(),
  /** Merged shape of every answer seen so far for this tool (probes and skill calls). */
  knownShape: z.string().optional(),
  sample: z.unknown(),
  truncated: z.boolean(),
  tookMs: z.number(),
  cached: z.boolean(),
  /** Where the value came from: structuredContent, JSON in the text, or plain text. */
  source: z.enum(["structuredContent", "json", "text", "content", "none"]),
  outputSchema: z
    .object({ declared: z.string(), matches: z.boolean(), problems: z.array(z.string()) })
    .optional(),
  error: z.string().optional(),
  hint: z.string().optional(),
});

export type ProbeResult = z.infer<typeof probeResultSchema>;

export interface ProberOptions {
  catalog: Catalog;
  pool: Pool;
  store: StateStore;
  observations: Observations;
  serverOptions(server: string): ServerOptions;
  /** How long a read-only probe's answer is served from the cache. */
  cacheTtlMs?: number;
}

export interface Prober {
  probe(request: ProbeRequest, signal?: AbortSignal): Promise<ProbeResult>;
  /** Resolves a `server.tool` name, or throws TOOL_NOT_FOUND with suggestions. */
  resolve(name: string): ToolRecord;
}

function sourceOf(result: { structuredContent?: unknown }, value: unknown): ProbeResult["source"] {
  if (result.structuredContent !== undefined) return "structuredContent";
  if (value === null) return "none";
  if (typeof value === "string") return "text";
  return Array.isArray(value) && value.some((v) => v && typeof v === "object" && "type" in v)
    ? "content"
    : "json";
}

/** A declared outputSchema beside what the tool really sent, and whether they agree. */
function checkOutput(
  declared: Record<string, unknown>,
  structured: unknown,
): NonNullable<ProbeResult["outputSchema"]> {
  const problems =
    structured === undefined
      ? ["the tool declares an outputSchema but sent no structuredContent"]
      : validateAgainst(declared, structured);
  return { declared: renderShape(shapeOfSchema(declared), 2), matches: problems.length === 0, problems };
}

export function createProber(options: ProberOptions): Prober {
  const { catalog, pool, observations } = options;
  const cache = createProbeCache(options.store, options.cacheTtlMs ?? 5 * 60_000, probeResultSchema);

  function resolve(name: string): ToolRecord {
    const record = catalog.get(name);
    if (record) return record;
    const words = name.replace(/[._-]+/g, " ").trim();
    const suggestions = words ? catalog.search({ query: words, limit: 3 }).hits.map((h) => h.entry.name) : [];
    const format = name.includes(".") ? "" : ' Tools are named "server.tool", e.g. "files.read_text_file".';
    throw new SkillsmithError(
      "TOOL_NOT_FOUND",
      `Unknown tool "${name}".${format}${suggestions.length ? ` Did you mean: ${suggestions.join(", ")}?` : ""} Use search_tools to find tools.`,
      { tool: name, suggestions },
    );
  }

  return {
    resolve,
    async probe(request, signal) {
      const tool = resolve(request.tool);
      const validator = compileSchema(tool.inputSchema);
      if (!(validator instanceof Error) && !validator(request.arguments)) {
        const problems = describeErrors(validator.errors);
        throw new SkillsmithError(
          "INVALID_ARGUMENTS",
          `Invalid arguments for ${tool.name}; nothing was called:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
          { tool: tool.name, issues: problems },
        );
      }
      const refusal = probeRefusal(tool, options.serverOptions(tool.server), request.allowSideEffects);
      if (refusal) throw new SkillsmithError("PROBE_REFUSED", refusal, { tool: tool.name, reason: refusal });

      const cacheable = tool.annotations.readOnlyHint === true;
      if (cacheable && !request.fresh) {
        const hit = await cache.get(tool, request.arguments);
        if (hit) return { ...hit, cached: true };
      }

      const started = performance.now();
      const failed = (isError: boolean, error: string, extra: Partial<ProbeResult> = {}): ProbeResult => ({
        tool: tool.name,
        ok: false,
        isError,
        shape: `unknown (${isError ? "the tool answered with an error" : "the call failed"})`,
        sample: null,
        truncated: false,
        tookMs: Math.round(performance.now() - started),
        cached: false,
        source: "none",
        error,
        ...extra,
      });
      let result: Awaited<ReturnType<Pool["call"]>>;
      try {
        result = await pool.call(tool.server, tool.tool, request.arguments, signal ? { signal } : {});
      } catch (error) {
        return failed(
          false,
          error instanceof SkillsmithError ? `${error.code}: ${error.message}` : errorMessage(error),
        );
      }
      if (result.isError) {
        const text = errorTextOf(result);
        return failed(true, `${tool.name} answered with an error: ${text}`, {
          ...trimSample(text),
          source: "text",
          hint: 'Check the arguments against the tool\'s description (search_tools with detail: "full").',
        });
      }

      const tookMs = Math.round(performance.now() - started);
      const value = payloadOf(result);
      const empty = isEmptyValue(value);
      const seen = shapeOf(value);
      const known = await observations.record(tool, value);
      const hints = [
        empty &&
          "The answer was empty, so its shape is unknown. Probe again with arguments that return data (a folder with files, a query that matches).",
        !empty &&
          hasUnseenParts(seen) &&
          "Some parts were empty (never[] or unknown), so their shape is not known yet. Probe again with arguments that return more data.",
        validator instanceof Error &&
          `The tool's input schema could not be checked (${validator.message}); the arguments were passed as given.`,
      ].filter((h): h is string => typeof h === "string");
      const outcome: ProbeResult = {
        tool: tool.name,
        ok: true,
        isError: false,
        shape: empty ? "unknown (the answer was empty)" : renderShape(seen, 2),
        ...(known && { knownShape: renderShape(known, 2) }),
        ...trimSample(value),
        tookMs,
        cached: false,
        source: sourceOf(result, value),
        ...(tool.outputSchema && { outputSchema: checkOutput(tool.outputSchema, result.structuredContent) }),
        ...(hints.length > 0 && { hint: hints.join(" ") }),
      };
      if (cacheable) cache.set(tool, request.arguments, outcome);
      return outcome;
    },
  };
}
