/** Skillsmith's own tools. Skills may not take these names, since every skill is listed as a tool beside them. */
export const META_TOOL_NAMES = ["search_tools", "probe_tool", "save_skill", "run_skill"] as const;
