import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { StateStore } from "../store/state-store.js";
import { createFile, replaceFile, sweepTemps } from "./atomic-files.js";

/** What a skill may be called: it becomes a tool's name, a file's name and a key in the store. */
export const SKILL_NAME = /^[a-z][a-z0-9_-]{0,47}$/;

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
  /** The saved skills the code calls by name, each pinned to its version when this skill was saved. */
  skills: z.record(z.string(), z.int()).optional(),
  test: z.object({ input: z.record(z.string(), z.unknown()) }).optional(),
  /** The code names some tools at run time: they could not be checked or pinned (absent in older files). */
  computedCalls: z.boolean().optional(),
  /** The run the code was saved from, which verified it. */
  fromRun: z.string().optional(),
});

export type SkillMeta = z.infer<typeof skillMetaSchema>;
export type Skill = SkillMeta & { code: string };

/** A save with `overwrite: false` found the name taken (on disk, under the lock: maybe by another instance). */
export class SkillExistsError extends Error {
  constructor(readonly version: number) {
    super(`a skill of that name exists (version ${version})`);
  }
}

/** What `importVersions` did with each version it was given. */
export interface ImportOutcome {
  /** Written under their own numbers. */
  added: number[];
  /** Already there, with the same code. */
  same: number[];
  /** Already there with other code: left as they were. */
  conflicts: number[];
  /** The current version after the import (the highest version imported, when above the one before). */
  current: number;
}

export interface SkillStore {
  /** Reads every skill in the folder (sweeping temp files killed saves left); a broken one is logged and skipped. */
  load(): Promise<Skill[]>;
  list(): Skill[];
  get(name: string): Skill | undefined;
  /**
   * Saves the next version, one save of a name at a time across every instance sharing the store: the version
   * comes from the folder under the lock, and the save is one atomic switch (see `commit`).
   */
  save(
    skill: Omit<Skill, "version" | "createdAt" | "updatedAt">,
    options: { overwrite: boolean },
  ): Promise<Skill>;
  /** Every kept version of the skill, oldest first (the current one alone when it has no history). */
  versions(name: string): Promise<Skill[]>;
  /**
   * Removes the skill (its pointer and readable copy); its history stays, so a later save of the name goes on
   * from the next version. False when there was no such skill.
   */
  remove(name: string): Promise<boolean>;
  /**
   * Adds the versions of a skill from elsewhere (export, import) under their own numbers, under the save lock;
   * a version already there with other code is a conflict and stays. The highest becomes current when it is
   * above the current one.
   */
  importVersions(name: string, versions: Skill[]): Promise<ImportOutcome>;
}

/** The parts of an import's report that a store computes the same way. */
export function importOutcome(
  added: number[],
  same: number[],
  conflicts: number[],
  before: number,
): ImportOutcome {
  return { added, same, conflicts, current: Math.max(before, ...added, ...same) };
}

/**
 * Runs `use` holding the save lock of `name`: one save, delete or import of a name at a time, across every
 * instance sharing the store (`again`: what the user should try again).
 */
export async function withSkillLock<T>(
  state: StateStore,
  name: string,
  again: string,
  use: () => Promise<T>,
): Promise<T> {
  const lock = await state.lock(`skill:${name}`).catch((error: unknown) => {
    throw new Error(
      `could not lock the name in the store ${state.url} (${errorMessage(error)}); nothing was written. ${again} again once the store answers.`,
    );
  });
  try {
    return await use();
  } finally {
    await lock.release();
  }
}

/**
 * The folder: `<name>.json` (the metadata, with the version) is the pointer to the current save; every save's
 * code and metadata are `.versions/<name>/v<N>.js` and `.json`, written once and never changed; `<name>.js` is a
 * readable copy of the current code. A reader takes the version from `<name>.json` and its code from
 * `.versions/`, so it never pairs the code of one save with the metadata of another, even after a crash between
 * two writes. Skills without history (written by hand, the shipped examples) are read from `<name>.js`.
 */
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function createSkillStore(dir: string, logger: Logger, state: StateStore): SkillStore {
  const skills = new Map<string, Skill>();
  let started = false;
  const file = (name: string, ext: string) => path.join(dir, `${name}${ext}`);
  const history = (name: string) => path.join(dir, ".versions", name);
  const saved = (name: string, version: number, ext: string) => path.join(history(name), `v${version}${ext}`);

  const readText = (at: string) =>
    readFile(at, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });

  async function readMeta(name: string): Promise<SkillMeta | undefined> {
    const text = await readText(file(name, ".json"));
    if (text === undefined) return undefined;
    const meta = skillMetaSchema.parse(JSON.parse(text));
    if (meta.name !== name) throw new Error(`it says its name is "${meta.name}"`);
    return meta;
  }

  async function readSkill(name: string): Promise<Skill | undefined> {
    try {
      const meta = await readMeta(name);
      if (!meta) return undefined;
      const copy = await readText(file(name, ".js"));
      const code = (await readText(saved(name, meta.version, ".js"))) ?? copy;
      if (code === undefined) throw new Error(`${name}.js is missing`);
      if (copy !== undefined && copy !== code) {
        logger.warn(
          `skill "${name}": ${name}.js differs from its saved version ${meta.version} (.versions/${name}/v${meta.version}.js), which is the one served: a save was interrupted, or the file was edited by hand (save it with save_skill to change it)`,
        );
      }
      return { ...meta, code };
    } catch (error) {
      logger.warn(`skipping skill "${name}" in ${dir}: ${errorMessage(error).slice(0, 300)}`);
      return undefined;
    }
  }

  /** The versions the name's history holds, ascending. */
  async function historyVersions(name: string): Promise<number[]> {
    const entries = await readdir(history(name)).catch(() => [] as string[]);
    return entries
      .flatMap((f) => /^v(\d+)\.json$/.exec(f)?.[1] ?? [])
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * A skill saved before every version was kept whole (or written by hand): its pair joins the history before
   * anything else is written, so a crash later still finds the current version's code there.
   */
  async function keepInHistory(current: SkillMeta | undefined): Promise<void> {
    if (!current || (await readText(saved(current.name, current.version, ".js"))) !== undefined) return;
    const code = await readText(file(current.name, ".js"));
    if (code === undefined) return;
    await mkdir(history(current.name), { recursive: true });
    await replaceFile(saved(current.name, current.version, ".json"), json(current));
    await replaceFile(saved(current.name, current.version, ".js"), code);
  }

  /** The highest version the folder knows of the name: its pointer's, or a save that never got as far. */
  async function lastVersion(name: string, current: SkillMeta | undefined): Promise<number> {
    return Math.max(current?.version ?? 0, ...(await historyVersions(name)));
  }

  /**
   * Writes the save as `skill.version` (or the next free one), then switches the pointer. The version's metadata
   * is created exclusively, so two writers can never both answer the same version.
   */
  async function commit(skill: Skill): Promise<Skill> {
    const { code, ...meta } = skill;
    await mkdir(history(skill.name), { recursive: true });
    let version = skill.version;
    // The metadata claims the version; the code follows under that claim (no pointer names it yet).
    while (!(await createFile(saved(skill.name, version, ".json"), json({ ...meta, version })))) version++;
    await replaceFile(saved(skill.name, version, ".js"), code);
    const committed: Skill = { ...skill, version };
    await replaceFile(file(skill.name, ".js"), code);
    // Last: the one write that makes the save current.
    await replaceFile(file(skill.name, ".json"), json({ ...meta, version }));
    return committed;
  }

  return {
    async load() {
      // At start only: reloads (on every save another instance makes) need not walk every history.
      if (!started) {
        started = true;
        await sweep().catch((error: unknown) =>
          logger.warn(
            `could not remove the temp files of interrupted saves in ${dir}: ${errorMessage(error)}`,
          ),
        );
      }
      let names: string[];
      try {
        names = (await readdir(dir))
          .filter((f) => f.endsWith(".json") && !f.startsWith("."))
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
    async save(definition, { overwrite }) {
      await mkdir(dir, { recursive: true });
      return withSkillLock(state, definition.name, "Save", async () => {
        const current = await readMeta(definition.name);
        if (current && !overwrite) throw new SkillExistsError(current.version);
        await keepInHistory(current);
        const now = new Date().toISOString();
        const skill = await commit({
          ...definition,
          version: (await lastVersion(definition.name, current)) + 1,
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
        });
        skills.set(skill.name, skill);
        return skill;
      });
    },
    async versions(name) {
      const current = skills.get(name);
      if (!current) return [];
      const kept: Skill[] = [];
      for (const version of await historyVersions(name)) {
        try {
          const [metaText, code] = await Promise.all([
            readText(saved(name, version, ".json")),
            readText(saved(name, version, ".js")),
          ]);
          // A save killed between claiming its version and writing its code left no version to show.
          if (metaText === undefined || code === undefined) continue;
          kept.push({ ...skillMetaSchema.parse(JSON.parse(metaText)), version, code });
        } catch (error) {
          logger.warn(`skipping version ${version} of skill "${name}": ${errorMessage(error).slice(0, 300)}`);
        }
      }
      return kept.some((k) => k.version === current.version) ? kept : [...kept, current];
    },
    remove(name) {
      return withSkillLock(state, name, "Delete", async () => {
        if (!(await readMeta(name))) return false;
        // The pointer first: once it is gone, no reader takes the skill for current, whatever the copy says.
        await rm(file(name, ".json"), { force: true });
        await rm(file(name, ".js"), { force: true });
        skills.delete(name);
        return true;
      });
    },
    async importVersions(name, versions) {
      await mkdir(history(name), { recursive: true });
      return withSkillLock(state, name, "Import", async () => {
        const current = await readMeta(name);
        await keepInHistory(current);
        const added: number[] = [];
        const same: number[] = [];
        const conflicts: number[] = [];
        for (const { code, ...meta } of [...versions].sort((a, b) => a.version - b.version)) {
          if (await createFile(saved(name, meta.version, ".json"), json(meta))) {
            await replaceFile(saved(name, meta.version, ".js"), code);
            added.push(meta.version);
          } else if ((await readText(saved(name, meta.version, ".js"))) === code) {
            same.push(meta.version);
          } else {
            conflicts.push(meta.version);
          }
        }
        const outcome = importOutcome(added, same, conflicts, current?.version ?? 0);
        const top = versions.find((v) => v.version === outcome.current);
        if (top && outcome.current > (current?.version ?? 0)) {
          const { code, ...meta } = top;
          await replaceFile(file(name, ".js"), code);
          await replaceFile(file(name, ".json"), json(meta));
          skills.set(name, top);
        }
        return outcome;
      });
    },
  };

  /** Temp files of killed saves, in the folder and in every skill's history. */
  async function sweep(): Promise<void> {
    let swept = await sweepTemps(dir);
    for (const name of await readdir(path.join(dir, ".versions")).catch(() => [] as string[])) {
      swept += await sweepTemps(history(name));
    }
    if (swept > 0) logger.info(`removed ${swept} temp file(s) that interrupted saves left in ${dir}`);
  }
}
