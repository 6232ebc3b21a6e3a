import type { Logger } from "../logger.js";
import type { StateStore } from "../store/state-store.js";
import { createSkillStore, type ImportOutcome, type SkillStore } from "./skill-store.js";
import { createStoredSkillStore } from "./stored-skill-store.js";

/** Where the skills live: in a store other hosts share (Redis), else in the folder. */
export function openSkillStore(skillsDir: string, state: StateStore, logger: Logger): SkillStore {
  return state.shared ? createStoredSkillStore(state, logger) : createSkillStore(skillsDir, logger, state);
}

export interface Transferred extends ImportOutcome {
  name: string;
}

/** Copies every skill of `from`, each with every version it keeps, into `to` under the same version numbers. */
export async function transferSkills(from: SkillStore, to: SkillStore): Promise<Transferred[]> {
  const done: Transferred[] = [];
  for (const skill of await from.load()) {
    const versions = await from.versions(skill.name);
    const outcome = await to.importVersions(skill.name, versions.length > 0 ? versions : [skill]);
    done.push({ name: skill.name, ...outcome });
  }
  return done.sort((a, b) => a.name.localeCompare(b.name));
}
