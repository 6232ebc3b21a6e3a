import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { CallRelay } from "../downstream/connection.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { Gateway } from "../gateway.js";
import { redact, redactDeep } from "../secrets.js";

export interface ToolContext {
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them; values only ever increase. Never rejects. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Carries the downstream server's progress, logs, elicitation and sampling requests back to this client. */
  relay: CallRelay;
  /** The client session the call came in (learning links a search to the uses that follow it). */
  session?: string;
}

/** One of Skillsmith's own tools: its contract (zod in, JSON Schema out) and its handler. */
export interface MetaTool<Input extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: Input;
  annotations: ToolAnnotations;
  handler(input: z.infer<Input>, gateway: Gateway, context: ToolContext): Promise<CallToolResult>;
}

export function defineMetaTool<Input extends z.ZodType>(tool: MetaTool<Input>): MetaTool {
  return tool as unknown as MetaTool;
}

export function structuredResult(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/**
 * An error meant for the model: an isError result with the code first, so both people and programs can act.
 * Secrets from mcp.json are redacted: a server's stderr or a failed URL may quote them.
 */
export function errorResult(error: unknown, prefix?: string): CallToolResult {
  if (error instanceof SkillsmithError) {
    return {
      isError: true,
      content: [{ type: "text", text: redact(`${error.code}: ${error.message}`) }],
      structuredContent: redactDeep({
        error: { code: error.code, message: error.message, ...error.data },
      }) as Record<string, unknown>,
    };
  }
  return {
    isError: true,
    content: [{ type: "text", text: redact(`${prefix ?? "Failed"}: ${errorMessage(error)}`) }],
  };
}

/** Zod issues as one line each, naming the field: `limit: Too big: expected number to be <=50`. */
export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.map(String).join(".") || "(arguments)"}: ${issue.message}`);
}
