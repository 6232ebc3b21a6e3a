import type { ToolRecord } from "../catalog/tool-record.js";
import type { ServerOptions } from "../config.js";

/**
 * Whether code (a skill's run, saved or ad hoc, and save_skill's test run) may call a tool, by the operator's
 * `skillsmith.servers.<server>.skills`: "any" (default), "readOnly" (only tools annotated readOnlyHint: true;
 * annotations are untrusted hints and a missing one means "may write"), or "none". Returns why not, naming
 * the setting to change, or undefined when allowed.
 */
export function skillRefusal(tool: ToolRecord, policy: ServerOptions["skills"]): string | undefined {
  const setting = `skillsmith.servers.${tool.server}.skills`;
  if (policy === "none") {
    return `Code may not call tools of server "${tool.server}" (${setting} is "none"), so ${tool.name} was not called. Set it to "readOnly" or "any" in mcp.json to allow it.`;
  }
  if (policy === "readOnly" && tool.annotations.readOnlyHint !== true) {
    return `${tool.name} is not annotated readOnlyHint: true, and ${setting} is "readOnly", so it was not called. Set it to "any" in mcp.json to let code call tools of "${tool.server}" that may write.`;
  }
  return undefined;
}
