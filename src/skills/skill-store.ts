import { copyFile, mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";

/** A skill's metadata, kept beside its code as `<name>.json`; read back through zod like any boundary. */
export const skillMetaSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  version: z.int().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The tools the code names, each pinned to the hash of its definition when the skill was saved. */
  tools: z.record(z.string(), z.string()),
  test: z.object({ input: z.record(z.string(), z.unknown()) }).optional(),
  /** The code names some tools at run time: they could not be checked or pinned (absent in older files). */
  computedCalls: z.boolean().optional(),
  /** The run the code was saved from, which verified it. */
  fromRun: z.string().optional(),
});

export type SkillMeta = z.infer<typeof skillMetaSchema>;
export type Skill = SkillMeta & { code: string };

export interface SkillStore {
  /** Reads every skill in the folder; a broken pair is logged and skipped. */
  load(): Promise<Skill[]>;
  list(): Skill[];
  get(name: string): Skill | undefined;
  /** Writes `<name>.js` and `<name>.json` atomically; the version before is kept under `.versions/`. */
  save(skill: Omit<Skill, "version" | "createdAt" | "updatedAt">): Promise<Skill>;
}

export function createSkillStore(dir: string, logger: Logger): SkillStore {
  const skills = new Map<string, Skill>();
  const file = (name: string, ext: string) => path.join(dir, `${name}${ext}`);

  async function readSkill(name: string): Promise<Skill | undefined> {
    try {
      const meta = skillMetaSchema.parse(JSON.parse(await readFile(file(name, ".json"), "utf8")));
      const code = await readFile(file(name, ".js"), "utf8");
      if (meta.name !== name) throw new Error(`it says its name is "${meta.name}"`);
      return { ...meta, code };
    } catch (error) {
      logger.warn(`skipping skill "${name}" in ${dir}: ${errorMessage(error).slice(0, 300)}`);
      return undefined;
    }
  }

  return {
    async load() {
      let names: string[];
      try {
        names = (await readdir(dir))
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.slice(0, -".json".length));
      } catch {
        names = [];
      }
      // Read everything first, then swap: a lookup during the reload sees the old set, never an empty one.
      const fresh = new Map<string, Skill>();
      for (const name of names) {
        const skill = await readSkill(name);
        if (skill) fresh.set(name, skill);
      }
      skills.clear();
      for (const [name, skill] of fresh) skills.set(name, skill);
      return [...skills.values()];
    },
    list: () => [...skills.values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => skills.get(name),
    async save(definition) {
      const before = skills.get(definition.name);
      const now = new Date().toISOString();
      const skill: Skill = {
        ...definition,
        version: (before?.version ?? 0) + 1,
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      await mkdir(dir, { recursive: true });
      if (before) {
        const versions = path.join(dir, ".versions", before.name);
        await mkdir(versions, { recursive: true });
        await copyFile(file(before.name, ".js"), path.join(versions, `v${before.version}.js`));
        await copyFile(file(before.name, ".json"), path.join(versions, `v${before.version}.json`));
      }
      const { code, ...meta } = skill;
      // The code first: a reader that finds the .json always finds its .js.
      await writeFileAtomic(file(skill.name, ".js"), code);
      await writeFileAtomic(file(skill.name, ".json"), `${JSON.stringify(meta, null, 2)}\n`);
      skills.set(skill.name, skill);
      return skill;
    },
  };
}
