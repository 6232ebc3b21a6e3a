import type { ContentBlock } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { CallOutcome, ToolCalls } from "../calls/tool-calls.js";
import type { ServerOptions } from "../config.js";
import type { CallRelay } from "../downstream/connection.js";
import { errorTextOf } from "../downstream/payload.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import { validateAgainst } from "../json-schema.js";
import type { Logger } from "../logger.js";
import { trimSample } from "../shapes/sample.js";
import { hasUnseenParts, renderShape, shapeOfSchema } from "../shapes/shape.js";
import type { StateStore } from "../store/state-store.js";
import { probeRefusal } from "./policy.js";
import { createProbeCache } from "./probe-cache.js";

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
  /** The answer's non-text content blocks themselves (images, audio, resources), size-capped; sent as content. */
  blocks: z.array(z.record(z.string(), z.unknown())).optional(),
});

export type ProbeResult = z.infer<typeof probeResultSchema>;

export interface ProberOptions {
  calls: ToolCalls;
  store: StateStore;
  serverOptions(server: string): ServerOptions;
  logger: Logger;
  /** How long a read-only probe's answer is served from the cache. */
  cacheTtlMs?: number;
}

export interface ProbeContext {
  signal?: AbortSignal;
  relay?: CallRelay;
}

export interface Prober {
  probe(request: ProbeRequest, context?: ProbeContext): Promise<ProbeResult>;
  /** Writes the probe answers still waiting to the store (before it closes). */
  flush(): Promise<void>;
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

/** Caps on the content blocks a probe hands back whole: enough for an icon or a page, not for a video. */
const MEDIA_BLOCK_CHARS = 512 * 1024;
const MEDIA_TOTAL_CHARS = 1024 * 1024;

/** The answer's image, audio and resource blocks, as the tool sent them, within the caps; `left` counts the rest. */
function mediaBlocks(content: ContentBlock[]): { blocks: Array<Record<string, unknown>>; left: number } {
  const blocks: Array<Record<string, unknown>> = [];
  let left = 0;
  let total = 0;
  for (const block of content) {
    if (block.type === "text") continue;
    const size = JSON.stringify(block).length;
    if (size > MEDIA_BLOCK_CHARS || total + size > MEDIA_TOTAL_CHARS) {
      left++;
      continue;
    }
    total += size;
    blocks.push(block);
  }
  return { blocks, left };
}

export function createProber(options: ProberOptions): Prober {
  const { calls } = options;
  const cache = createProbeCache(
    options.store,
    options.cacheTtlMs ?? 5 * 60_000,
    probeResultSchema,
    options.logger,
  );

  return {
    flush: () => cache.flush(),
    async probe(request, context = {}) {
      const prepared = await calls.prepare(request.tool, request.arguments, context.signal);
      const { tool } = prepared;
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
      let outcome: CallOutcome;
      try {
        outcome = await calls.invoke(prepared, context);
      } catch (error) {
        return failed(
          false,
          error instanceof SkillsmithError ? `${error.code}: ${error.message}` : errorMessage(error),
        );
      }
      const { result, value, tookMs } = outcome;
      if (result.isError) {
        const text = errorTextOf(result);
        return failed(true, `${tool.name} answered with an error: ${text}`, {
          ...trimSample(text),
          source: "text",
          hint: 'Check the arguments against the tool\'s description (search_tools with detail: "full").',
        });
      }

      const { blocks, left } = mediaBlocks(result.content ?? []);
      const { seen } = outcome;
      const empty = seen === undefined;
      const known = await outcome.observed;
      const hints = [
        empty &&
          "The answer was empty, so its shape is unknown. Probe again with arguments that return data (a folder with files, a query that matches).",
        seen !== undefined &&
          hasUnseenParts(seen) &&
          "Some parts were empty (never[] or unknown), so their shape is not known yet. Probe again with arguments that return more data.",
        left > 0 &&
          `${left} non-text block(s) of the answer were left out: over ${MEDIA_BLOCK_CHARS} characters each, or ${MEDIA_TOTAL_CHARS} in all.`,
        prepared.unchecked !== undefined &&
          `The tool's input schema could not be checked (${prepared.unchecked}); the arguments were passed as given.`,
      ].filter((h): h is string => typeof h === "string");
      const probed: ProbeResult = {
        tool: tool.name,
        ok: true,
        isError: false,
        shape: seen === undefined ? "unknown (the answer was empty)" : renderShape(seen, 2),
        ...(known && { knownShape: renderShape(known, 2) }),
        ...trimSample(value),
        tookMs,
        cached: false,
        source: sourceOf(result, value),
        ...(tool.outputSchema && { outputSchema: checkOutput(tool.outputSchema, result.structuredContent) }),
        ...(hints.length > 0 && { hint: hints.join(" ") }),
        ...(blocks.length > 0 && { blocks }),
      };
      if (cacheable) cache.set(tool, request.arguments, probed);
      return probed;
    },
  };
}
