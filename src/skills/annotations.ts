import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog } from "../catalog/catalog.js";
import type { Skill } from "./skill-store.js";
import { callsComputed } from "./skills.js";

/** What a saved skill may do, derived from the tools it calls, itself and through the skills it calls. */
export interface SkillEffects {
  annotations: ToolAnnotations;
  /** The tools named by its literal calls. */
  tools: string[];
  /** The saved skills it calls by name. */
  skills: string[];
  /** It (or a skill it calls) also calls tools whose names it computes at run time, which nothing can vouch for. */
  computedCalls: boolean;
}

type Callee = Pick<Skill, "tools" | "skills" | "computedCalls" | "code">;

/**
 * Read-only only when every tool it reaches (itself or through the skills it calls) is annotated read-only and
 * nothing along the way names a tool at run time; destructive when any tool reached is, or is not annotated
 * (MCP's default for a tool that may write); open-world when any is. An unknown tool (its server down) counts as
 * unannotated; a callee that is not saved counts as unknown (it may do anything).
 */
export function skillEffects(
  skill: Callee,
  catalog: Catalog,
  skills: (name: string) => Callee | undefined = () => undefined,
): SkillEffects {
  const reached = new Set<string>();
  const visited = new Set<Callee>();
  let computedCalls = false;
  let unknownCallee = false;
  const walk = (s: Callee) => {
    if (visited.has(s)) return;
    visited.add(s);
    for (const tool of Object.keys(s.tools)) reached.add(tool);
    if (s.computedCalls ?? callsComputed(s.code)) computedCalls = true;
    for (const name of Object.keys(s.skills ?? {})) {
      const callee = skills(name);
      if (callee) walk(callee);
      else unknownCallee = true;
    }
  };
  walk(skill);
  const hints = [...reached].map((name) => catalog.get(name)?.annotations ?? {});
  const vouched = !computedCalls && !unknownCallee;
  const readOnly = vouched && hints.every((a) => a.readOnlyHint === true);
  const destructive = !vouched || hints.some((a) => a.readOnlyHint !== true && a.destructiveHint !== false);
  const openWorld = !vouched || hints.some((a) => a.openWorldHint !== false);
  return {
    annotations: { readOnlyHint: readOnly, destructiveHint: destructive, openWorldHint: openWorld },
    tools: Object.keys(skill.tools).sort(),
    skills: Object.keys(skill.skills ?? {}).sort(),
    computedCalls,
  };
}

/** The tail of a skill's description that says what it calls. */
export function callsLine({ tools, skills, computedCalls }: SkillEffects): string {
  const parts = [...skills.map((s) => `skill ${s}`), ...tools];
  const named = parts.length > 0 ? `calls ${parts.join(", ")}` : "calls no tools by name";
  return computedCalls ? `${named}, and tools whose names it computes at run time` : named;
}
