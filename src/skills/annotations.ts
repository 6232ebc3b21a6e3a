import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog } from "../catalog/catalog.js";
import type { Skill } from "./skill-store.js";
import { callsComputed } from "./skills.js";

/** What a saved skill may do, derived from the tools it calls, for its tool listing and search results. */
export interface SkillEffects {
  annotations: ToolAnnotations;
  /** The tools named by its literal calls. */
  tools: string[];
  /** It also calls tools whose names it computes at run time, which nothing can vouch for. */
  computedCalls: boolean;
}

/**
 * Read-only only when every tool it names is annotated read-only and it names none at run time; destructive
 * when any tool it calls is, or is not annotated (MCP's default for a tool that may write); open-world when any
 * is. An unknown tool (its server down) counts as unannotated.
 */
export function skillEffects(
  skill: Pick<Skill, "tools" | "computedCalls" | "code">,
  catalog: Catalog,
): SkillEffects {
  const tools = Object.keys(skill.tools).sort();
  const computedCalls = skill.computedCalls ?? callsComputed(skill.code);
  const hints = tools.map((name) => catalog.get(name)?.annotations ?? {});
  const readOnly = !computedCalls && hints.every((a) => a.readOnlyHint === true);
  const destructive =
    computedCalls || hints.some((a) => a.readOnlyHint !== true && a.destructiveHint !== false);
  const openWorld = computedCalls || hints.some((a) => a.openWorldHint !== false);
  return {
    annotations: { readOnlyHint: readOnly, destructiveHint: destructive, openWorldHint: openWorld },
    tools,
    computedCalls,
  };
}

/** The tail of a skill's description that says what it calls. */
export function callsLine({ tools, computedCalls }: SkillEffects): string {
  const named = tools.length > 0 ? `calls ${tools.join(", ")}` : "calls no tools by name";
  return computedCalls ? `${named}, and tools whose names it computes at run time` : named;
}
