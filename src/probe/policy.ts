import type { ToolRecord } from "../catalog/tool-record.js";
import type { ServerOptions } from "../config.js";

/**
 * Whether probe_tool may call a tool. Annotations are untrusted hints and a missing one means "may write",
 * so only `readOnlyHint: true` is probed freely; anything else needs the caller's consent AND the
 * server's `probe: "any"`. Returns why not, in words that say what to change, or undefined when allowed.
 */
export function probeRefusal(
  tool: ToolRecord,
  options: ServerOptions,
  allowSideEffects: boolean,
): string | undefined {
  const setting = `skillsmith.servers.${tool.server}.probe`;
  if (options.probe === "none") {
    return `Probes are turned off for server "${tool.server}" (${setting} is "none"). Set it to "readOnly" or "any" in mcp.json to allow them.`;
  }
  if (tool.annotations.readOnlyHint === true) return undefined;
  const why = `${tool.name} is not annotated readOnlyHint: true, so it may change something.`;
  if (!allowSideEffects && options.probe !== "any") {
    return `${why} To probe it anyway, pass allowSideEffects: true and set ${setting} to "any" in mcp.json.`;
  }
  if (!allowSideEffects) return `${why} To probe it anyway, pass allowSideEffects: true.`;
  if (options.probe !== "any") {
    return `${why} allowSideEffects was given, but ${setting} is "${options.probe}"; set it to "any" in mcp.json to allow probes that may write.`;
  }
  return undefined;
}
