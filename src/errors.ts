/**
 * The closed vocabulary of failures a user or a model can act on.
 * Each code says when it happens; `data` carries what a machine needs to react.
 */
export type ErrorCode =
  /** mcp.json is missing, unreadable or does not match the schema; data: { path, issues } */
  | "CONFIG_INVALID"
  /** a downstream server is not connected (failed to start, crashed, disabled); data: { server } */
  | "SERVER_UNAVAILABLE"
  /** a `server.tool` name or a `server` filter names nothing known; data: { tool?, server?, known? } */
  | "TOOL_NOT_FOUND"
  /** a meta-tool or downstream tool got arguments that do not fit its schema; data: { issues } */
  | "INVALID_ARGUMENTS"
  /** a downstream call failed, timed out or returned a protocol error; data: { tool, cause } */
  | "CALL_FAILED"
  /** probe_tool refused to call a tool under the safety policy; data: { tool, reason } */
  | "PROBE_REFUSED"
  /** a skill could not be saved, loaded or run as written; data: { name } */
  | "SKILL_INVALID";

export class SkillsmithError extends Error {
  override readonly name = "SkillsmithError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * An error that lists what is wrong, one problem a line (`issues` in its data, for programs): a config, a
 * tool's arguments, a skill's input. One problem stays on the headline's line.
 */
export function problemsError(
  code: ErrorCode,
  headline: string,
  problems: string[],
  data: Record<string, unknown> = {},
): SkillsmithError {
  const listed =
    problems.length === 1 ? ` ${problems[0]}` : `\n${problems.map((p) => `  - ${p}`).join("\n")}`;
  return new SkillsmithError(code, `${headline}:${listed}`, { ...data, issues: problems });
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  // Node's connection errors can come with no message: an AggregateError of one per address tried, or a code.
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(errorMessage))].join("; ");
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // Some clients' classes (e.g. the Redis client's TimeoutError) keep the name "Error": the class says more.
  return error.name === "Error" ? error.constructor.name : error.name;
}

/**
 * A JSON-RPC error to throw from a protocol handler. The SDK sends a thrown error's `code` and `message` as
 * they are; an McpError's message already carries an "MCP error <code>:" prefix that the receiving SDK adds
 * a second time.
 */
export function protocolError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}
