/**
 * The names of Skillsmith's own tools, kept once: the tool definitions take them from here, and skills may not
 * take them, since every skill is listed as a tool beside them.
 */
export const META_TOOL = {
  search: "search_tools",
  probe: "probe_tool",
  save: "save_skill",
  run: "run_skill",
} as const;

export const META_TOOL_NAMES: readonly string[] = Object.values(META_TOOL);
