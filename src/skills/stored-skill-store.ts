import { z } from "zod";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { StateStore } from "../store/state-store.js";
import {
  importOutcome,
  SKILL_NAME,
  type Skill,
  SkillExistsError,
  type SkillStore,
  skillMetaSchema,
  withSkillLock,
} from "./skill-store.js";

/** Where the skills live in a shared store, and the channel on which a save is announced to every instance. */
const INDEX = "skills";
const INDEX_KEY = "current";
const VERSIONS = "skill-versions";
export const SKILLS_CHANNEL = "skills";

/** The pointer to every skill's current version: one entry, changed by compare-and-set under a skill's lock. */
const indexSchema = z.record(z.string(), z.int().min(1));
const storedSkillSchema = skillMetaSchema.extend({ code: z.string() });

const versionKey = (name: string, version: number) => `${name}/v${version}`;

/** The index as a Map of well-formed names only: whatever is in the store was written by someone else. */
function indexOf(value: unknown): Map<string, number> {
  const parsed = indexSchema.safeParse(value);
  return new Map(parsed.success ? Object.entries(parsed.data).filter(([name]) => SKILL_NAME.test(name)) : []);
}

/**
 * Skills kept in a store shared by instances on several hosts (Redis): every save is a version entry written
 * once (`skill-versions/<name>/v<N>`, claimed by compare-and-set, so two saves never share a number), then the
 * index entry (`skills/current`, name → version) moves to it, under the save lock, and the save is announced
 * on the store's `skills` channel. Each instance keeps the current versions in memory and reloads the index
 * when told (or when its subscription comes back after an outage); only versions it lacks are read.
 */
export function createStoredSkillStore(state: StateStore, logger: Logger): SkillStore {
  const skills = new Map<string, Skill>();
  const index = state.namespace<unknown>(INDEX);
  const versionsNs = state.namespace<unknown>(VERSIONS);

  const readIndex = async () => indexOf(await index.get(INDEX_KEY));
  async function readVersion(name: string, version: number): Promise<Skill | undefined> {
    const parsed = storedSkillSchema.safeParse(await versionsNs.get(versionKey(name, version)));
    if (!parsed.success || parsed.data.name !== name || parsed.data.version !== version) return undefined;
    return parsed.data;
  }

  /** Claims exactly `skill.version`: false when that version is taken (by another save, or a crashed one). */
  const claim = async (skill: Skill) =>
    (
      await state.update<unknown>(VERSIONS, versionKey(skill.name, skill.version), (current) =>
        current === undefined ? { set: skill } : undefined,
      )
    ).changed;

  /** Moves the index of `name` to `version` (undefined: out of the index), then tells every instance. */
  async function point(name: string, version: number | undefined): Promise<void> {
    await state.update<unknown>(INDEX, INDEX_KEY, (current) => {
      const next = indexOf(current);
      if (version === undefined) next.delete(name);
      else next.set(name, version);
      return { set: Object.fromEntries(next) };
    });
    await state
      .publish(SKILLS_CHANNEL, `${name}@${version ?? "removed"}`)
      .catch((error: unknown) => state.reportFailure(INDEX, "could not announce a change", error));
  }

  return {
    async load() {
      let current: Map<string, number>;
      try {
        current = await readIndex();
      } catch (error) {
        state.reportFailure(INDEX, `could not read the skills (kept the ${skills.size} known)`, error);
        return [...skills.values()];
      }
      // Read everything first, then swap: a lookup during the reload sees the old set, never a partial one.
      const fresh = new Map<string, Skill>();
      for (const [name, version] of current) {
        const known = skills.get(name);
        const skill =
          known?.version === version
            ? known
            : await readVersion(name, version).catch((error: unknown) => {
                logger.warn(
                  `could not read skill "${name}" v${version} from ${state.url}: ${errorMessage(error)}`,
                );
                return known;
              });
        if (skill) fresh.set(name, skill);
        else logger.warn(`skipping skill "${name}": its v${version} in ${state.url} is missing or malformed`);
      }
      skills.clear();
      for (const [name, skill] of fresh) skills.set(name, skill);
      return [...skills.values()];
    },
    list: () => [...skills.values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => skills.get(name),

    save(definition, { overwrite }) {
      return withSkillLock(state, definition.name, "Save", async () => {
        const version = (await readIndex()).get(definition.name);
        const before = version === undefined ? undefined : await readVersion(definition.name, version);
        if (version !== undefined && !overwrite) throw new SkillExistsError(version);
        const now = new Date().toISOString();
        const skill: Skill = {
          ...definition,
          version: (version ?? 0) + 1,
          createdAt: before?.createdAt ?? now,
          updatedAt: now,
        };
        // A save that crashed after its claim left that number taken: the next free one is this save's.
        while (!(await claim(skill))) skill.version++;
        await point(skill.name, skill.version);
        skills.set(skill.name, skill);
        return skill;
      });
    },

    async versions(name) {
      const current = (await readIndex()).get(name);
      const found: Skill[] = [];
      for (let version = 1; current !== undefined && version <= current; version++) {
        const skill = await readVersion(name, version);
        if (skill) found.push(skill);
      }
      return found;
    },

    remove(name) {
      return withSkillLock(state, name, "Delete", async () => {
        if ((await readIndex()).get(name) === undefined) return false;
        // Its versions stay: a later save of the name goes on from the next free number (see `claim`).
        await point(name, undefined);
        skills.delete(name);
        return true;
      });
    },

    importVersions(name, versions) {
      return withSkillLock(state, name, "Import", async () => {
        const before = (await readIndex()).get(name) ?? 0;
        const added: number[] = [];
        const same: number[] = [];
        const conflicts: number[] = [];
        for (const skill of [...versions].sort((a, b) => a.version - b.version)) {
          if (await claim(skill)) added.push(skill.version);
          else if ((await readVersion(name, skill.version))?.code === skill.code) same.push(skill.version);
          else conflicts.push(skill.version);
        }
        const outcome = importOutcome(added, same, conflicts, before);
        const top = versions.find((v) => v.version === outcome.current);
        if (top && outcome.current > before) {
          await point(name, top.version);
          skills.set(name, top);
        }
        return outcome;
      });
    },
  };
}
