/**
 * A saved skill called from inside a run (`call("skill-name", input)`): found, checked (cycle, depth, input) and
 * run as a frame of the same run, its steps recorded under the caller's step.
 */
import { errorMessage, problemsError, SkillsmithError } from "../errors.js";
import { validateAgainst } from "../json-schema.js";
import { type Frames, nestedError } from "./frames.js";
import { type CallOrigin, NestedFailure } from "./sandbox/sandbox.js";
import type { Skill } from "./skill-store.js";

/** Tools are `server.tool`; a name without a dot is a saved skill. */
export const isSkillName = (name: string) => !name.includes(".");

export interface SkillLookup {
  get(name: string): Skill | undefined;
  list(): Skill[];
}

/** The callees a skill pinned at save time that were re-saved or removed since: said in the run's warnings. */
export function skillDrift(skill: Pick<Skill, "name" | "skills">, skills: SkillLookup): string[] {
  return Object.entries(skill.skills ?? {}).flatMap(([name, version]) => {
    const now = skills.get(name);
    if (!now) return [`skill ${name}, which ${skill.name} calls, no longer exists.`];
    if (now.version === version) return [];
    return [
      `skill ${name} was re-saved since ${skill.name} was saved (v${version} → v${now.version}); check it still does what ${skill.name} expects.`,
    ];
  });
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The saved skill a mistyped name most likely meant: a few edits away, or one name inside the other. */
function closestSkill(name: string, known: string[]): string | undefined {
  const most = Math.max(2, Math.floor(name.length / 4));
  const inside = (k: string) =>
    Math.min(k.length, name.length) >= 4 && (k.includes(name) || name.includes(k));
  const scored = known
    .filter((k) => Math.abs(k.length - name.length) <= most || inside(k))
    .map((k) => ({ k, d: inside(k) ? 1 : editDistance(name, k) }))
    .filter(({ d }) => d <= most)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
  return scored[0]?.k;
}

/**
 * A call of a skill that is not saved: what is, and (at save time, where it is computed once) the likely one. A
 * run does not look for it: code naming skills at run time could make it compare every name a thousand times.
 */
export function unknownSkill(name: string, known: string[], from: string, suggest = false): SkillsmithError {
  const close = suggest ? closestSkill(name, known) : undefined;
  const listed = known.length
    ? ` Saved skills: ${known.slice(0, 20).join(", ")}.`
    : " No skills are saved yet.";
  return new SkillsmithError(
    "TOOL_NOT_FOUND",
    `No skill named "${name}" (called from ${from}).${close ? ` Did you mean "${close}"?` : ""}${listed} Tools are named "server.tool".`,
    { skill: name, ...(close && { suggestion: close }) },
  );
}

export interface NestedContext {
  frames: Frames;
  skills: SkillLookup;
  /** `skillsmith.sandbox.maxDepth`. */
  maxDepth: number;
  /** Told of each skill as it is entered (its pins are checked). */
  onEnter(skill: Skill): void;
}

/**
 * Runs saved skill `name` for a call made inside a run; resolves to its result like a tool's answer. A cycle, a
 * chain deeper than maxDepth, or input its inputSchema refuses fails the call with the chain named, before
 * anything of the skill runs.
 */
export async function callSkill(
  name: string,
  input: unknown,
  origin: CallOrigin,
  context: NestedContext,
): Promise<unknown> {
  const chain = context.frames.chainOf(origin.site.frame);
  const from = chain.join(" → ");
  const skill = context.skills.get(name);
  if (!skill) {
    throw unknownSkill(
      name,
      context.skills.list().map((s) => s.name),
      from,
    );
  }
  const through = [...chain, name].join(" → ");
  if (chain.includes(name)) {
    throw new SkillsmithError(
      "SKILL_INVALID",
      `Skill cycle: ${through}. A skill may not call itself, directly or through other skills; "${name}" was not called again.`,
      { chain: [...chain, name] },
    );
  }
  if (chain.length > context.maxDepth) {
    throw new SkillsmithError(
      "SKILL_INVALID",
      `Skills nested too deep: ${through} nests ${chain.length} skill calls, more than skillsmith.sandbox.maxDepth (${context.maxDepth}); "${name}" was not called. Flatten the chain, or raise the limit in mcp.json.`,
      { chain: [...chain, name] },
    );
  }
  const problems = validateAgainst(skill.inputSchema, input);
  if (problems.length > 0) {
    throw problemsError(
      "INVALID_ARGUMENTS",
      `Invalid input for skill "${name}" (called from ${from}; nothing of it ran)`,
      problems,
      { skill: name },
    );
  }
  context.onEnter(skill);
  const { nested, replay } = context.frames.enter(origin.id, origin.site, skill, input);
  const started = performance.now();
  try {
    const value = await origin.enter({ skill: name, code: skill.code, input, replay });
    nested.status = "ok";
    return value;
  } catch (error) {
    nested.status = "failed";
    nested.error = nestedError(errorMessage(error));
    const at =
      error instanceof NestedFailure && error.step
        ? ` in its step ${error.step.index} "${error.step.label}"`
        : "";
    throw new Error(`Skill "${name}" failed${at}: ${errorMessage(error)}`);
  } finally {
    nested.ms = Math.round(performance.now() - started);
  }
}
