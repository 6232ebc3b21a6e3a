import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ToolCalls } from "../calls/tool-calls.js";
import type { Catalog } from "../catalog/catalog.js";
import type { IndexEntry } from "../catalog/search-index.js";
import type { CallRelay } from "../downstream/connection.js";
import { problemsError, SkillsmithError } from "../errors.js";
import { compileSchema, validateAgainst } from "../json-schema.js";
import { noObserver, type Observer } from "../ops/metrics.js";
import { isSkillName, unknownSkill } from "./nested-skills.js";
import type { RunOptions, RunRecord, SkillRunner } from "./runner.js";
import type { Sandbox } from "./sandbox/sandbox.js";
import { SKILL_NAME, type Skill, SkillExistsError, type SkillStore } from "./skill-store.js";

/** The `server` a skill shows under in search results. */
export const SKILL_SERVER = "skills";

/** A save gives the code with an optional test input, or a run that succeeded (its code, verified by it). */
export interface SaveRequest {
  name: string;
  description: string;
  code?: string;
  fromRun?: string;
  inputSchema?: Record<string, unknown>;
  test?: { input: Record<string, unknown> };
  overwrite: boolean;
}

export interface SaveOutcome {
  name: string;
  version: number;
  tools: string[];
  /** The saved skills it calls, each pinned to its current version. */
  skills: Record<string, number>;
  /** The code names some of the tools it calls at run time (see callsComputed). */
  computedCalls: boolean;
  testRun?: RunRecord;
  /** The run whose code was saved, which verified it. */
  fromRun?: string;
}

/** A run of a saved skill (`name`) or of code given ad hoc; with `resume` alone, what that run ran. */
export interface RunRequest {
  name?: string;
  code?: string;
  input?: unknown;
  resume?: string;
}

export interface Skills {
  /** Reads the skills folder; announces a change when what is there differs from what was known. */
  load(): Promise<void>;
  list(): Skill[];
  get(name: string): Skill | undefined;
  /** Like `get`; with `reloadOnMiss`, a name not known here is looked up in the store (saved elsewhere just now). */
  find(name: string): Promise<Skill | undefined>;
  /** The saved skills that call skill `name` by name (its callers), sorted. */
  usedBy(name: string): string[];
  /** `relay`: where the test run's downstream progress, logs and requests go (the client saving). */
  save(request: SaveRequest, options?: { relay?: CallRelay }): Promise<SaveOutcome>;
  run(request: RunRequest, options?: Omit<RunOptions, "resume">): Promise<RunRecord>;
  /** Every kept version of a skill, oldest first; empty for an unknown name. */
  versions(name: string): Promise<Skill[]>;
  /**
   * Makes an earlier version current again by saving its code, description and input schema as the next
   * version (checked and pinned like any save; history only grows).
   */
  restore(name: string, version: number): Promise<SaveOutcome>;
  /** Deletes a skill (its history is kept); it stops being a tool at once. */
  remove(name: string): Promise<void>;
  /** Called after every save, so a server can announce its new tool list; returns the way to stop listening. */
  onChange(listener: () => void): () => void;
}

export interface SkillsOptions {
  store: SkillStore;
  sandbox: Sandbox;
  runner: SkillRunner;
  catalog: Catalog;
  calls: Pick<ToolCalls, "resolve">;
  /** Names a skill may not take (the meta-tools). */
  reserved: readonly string[];
  /** A skill not known here may have been saved on another instance a moment ago: reload before saying no. */
  reloadOnMiss?: boolean;
  /** Told of every run's outcome and time (metrics). */
  observer?: Observer;
}

const DEFAULT_INPUT_SCHEMA = { type: "object", properties: {} };

/** Tools and skills named by a literal `call("server.tool", …)` or `call("skill-name", …)`: checked and pinned at save time. */
export function literalCalls(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/\bcall\s*\(\s*(["'`])([^"'`$]+)\1/g)) if (m[2]) found.add(m[2]);
  return [...found].sort();
}

/**
 * Whether the code may call a tool whose name it computes at run time: any use of `call` other than a
 * literal `call("server.tool", …)` or the destructuring of the context. Such a skill's tools cannot be
 * known, checked or pinned at save time, so it is never marked read-only.
 */
export function callsComputed(code: string): boolean {
  // Comments say "call" in prose; a `//` after a colon is a URL in a string, not a comment.
  const bare = code.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/(^|[^:\\])\/\/.*$/gm, "$1");
  for (const m of bare.matchAll(/(?<![.\w$])call\b(?!\s*[,}])/g)) {
    const after = bare.slice((m.index ?? 0) + m[0].length);
    if (!/^\s*\(\s*(["'`])[^"'`$]+\1/.test(after)) return true;
  }
  return false;
}

/** A chain from `name` through its callees back to `name`, if there is one (depth-first over the pinned calls). */
function cycleThrough(
  name: string,
  callees: string[],
  calleesOf: (skill: string) => string[],
): string[] | undefined {
  const seen = new Set<string>();
  const walk = (path: string[], next: string[]): string[] | undefined => {
    for (const callee of next) {
      if (callee === name) return [...path, callee];
      if (seen.has(callee)) continue;
      seen.add(callee);
      const found = walk([...path, callee], calleesOf(callee));
      if (found) return found;
    }
    return undefined;
  };
  return walk([name], callees);
}

const noRun = (runId: string) =>
  new SkillsmithError("SKILL_INVALID", `No run "${runId}" to resume (runs are kept for 7 days).`, { runId });

function invalid(name: string, problem: string, data: Record<string, unknown> = {}): SkillsmithError {
  return new SkillsmithError("SKILL_INVALID", `Skill "${name}" was not saved: ${problem}`, { name, ...data });
}

const exists = (name: string, version: number) =>
  invalid(name, `a skill of that name exists (version ${version}); pass overwrite: true to replace it.`);

function indexEntry(skill: Skill): IndexEntry & { calls: string[] } {
  return {
    calls: [...Object.keys(skill.tools), ...Object.keys(skill.skills ?? {})],
    name: skill.name,
    kind: "skill",
    server: SKILL_SERVER,
    tool: skill.name,
    description: skill.description,
    inputSchema: skill.inputSchema,
  };
}

export function createSkills(options: SkillsOptions): Skills {
  const { store, sandbox, runner, catalog, calls } = options;
  const observer = options.observer ?? noObserver;
  // A source that loaded once always loads: agents re-saving the same code (overwrite, new description,
  // retries after a failed test) skip the round trip to a worker. Failures are not kept: one may be a timeout.
  const loaded = new LRUCache<string, true>({ max: 500 });
  const compile = async (code: string): Promise<string | undefined> => {
    const key = createHash("sha256").update(code).digest("hex");
    if (loaded.has(key)) return undefined;
    const error = await sandbox.compile(code);
    if (error === undefined) loaded.set(key, true);
    return error;
  };
  const listeners: Array<() => void> = [];
  const noSkill = (name: string) => {
    const names = store.list().map((s) => s.name);
    return new SkillsmithError(
      "TOOL_NOT_FOUND",
      `No skill named "${name}". ${names.length ? `Skills: ${names.join(", ")}.` : "No skills are saved yet."}`,
      { name, known: names },
    );
  };
  let known = "";
  /** Who calls whom, from the callees each skill pinned: callee → callers. */
  let callers = new Map<string, string[]>();
  /** Re-indexes, and tells listeners when the set of skills or their versions changed. */
  const refresh = () => {
    const skills = store.list();
    catalog.setSkills(skills.map(indexEntry));
    callers = new Map();
    for (const skill of skills) {
      for (const callee of Object.keys(skill.skills ?? {}))
        callers.set(callee, [...(callers.get(callee) ?? []), skill.name]);
    }
    for (const list of callers.values()) list.sort();
    const now = skills.map((s) => `${s.name}@${s.version}`).join(",");
    if (now === known) return;
    known = now;
    for (const listener of listeners) listener();
  };

  function checkInput(skill: Pick<Skill, "name" | "inputSchema">, input: unknown): void {
    const problems = validateAgainst(skill.inputSchema, input);
    if (problems.length > 0) {
      throw problemsError("INVALID_ARGUMENTS", `Invalid input for skill "${skill.name}"`, problems, {
        name: skill.name,
      });
    }
  }

  /** The code to save, and the input it was verified on when it comes from a run. */
  async function sourceOf(
    request: SaveRequest,
  ): Promise<{ code: string; testInput?: Record<string, unknown> }> {
    const { name } = request;
    if ((request.code === undefined) === (request.fromRun === undefined)) {
      throw invalid(name, "give either code, or fromRun: the runId of a run that succeeded.");
    }
    if (request.fromRun === undefined) return { code: request.code ?? "" };
    if (request.test) throw invalid(name, "a save fromRun is verified by that run; leave out test.");
    const run = await runner.record(request.fromRun);
    if (!run) throw invalid(name, `there is no run "${request.fromRun}" (runs are kept for 7 days).`);
    if (run.status !== "ok") {
      const what =
        run.status === "resumed"
          ? `failed and was resumed by run "${run.resumedBy}" (save that run if it succeeded)`
          : run.status === "failed"
            ? `failed (${run.error ?? "unknown error"})`
            : "has not finished";
      throw invalid(
        name,
        `run "${run.runId}" ${what}; only a run that succeeded can be saved. Fix the code, run it again, and save that run.`,
      );
    }
    const input =
      run.input !== null && typeof run.input === "object" && !Array.isArray(run.input) ? run.input : {};
    if (run.code !== undefined) return { code: run.code, testInput: input as Record<string, unknown> };
    const skill = run.skill === undefined ? undefined : store.get(run.skill);
    if (!skill || skill.version !== run.version) {
      throw invalid(
        name,
        `run "${run.runId}" ran skill "${run.skill}" v${run.version}, which is no longer the current version.`,
      );
    }
    return { code: skill.code, testInput: input as Record<string, unknown> };
  }

  /**
   * The skills a skill being saved calls by name, each pinned to its current version; refused when one is not
   * saved (naming the likely one) or when a call would come back to the skill itself (naming the chain).
   */
  function pinSkills(name: string, callees: string[]): Record<string, number> {
    const known = store.list().map((s) => s.name);
    const missing = callees.filter((c) => c !== name && !store.get(c));
    if (missing.length > 0) {
      const what = missing.map((m) => unknownSkill(m, known, name, true).message).join(" ");
      throw invalid(name, `the code calls skills that are not saved. ${what}`, { unknownSkills: missing });
    }
    const cycle = cycleThrough(name, callees, (s) => Object.keys(store.get(s)?.skills ?? {}));
    if (cycle) {
      throw invalid(
        name,
        `the code would call itself: ${cycle.join(" → ")}. A skill may not call itself, directly or through other skills.`,
        { chain: cycle },
      );
    }
    return Object.fromEntries(callees.map((c) => [c, store.get(c)?.version ?? 0]));
  }

  // One reload at a time, whatever the number of misses asking for it.
  let reloading: Promise<void> | undefined;
  const reload = () => {
    reloading ??= store
      .load()
      .then(refresh)
      .finally(() => {
        reloading = undefined;
      });
    return reloading;
  };
  async function find(name: string): Promise<Skill | undefined> {
    const known = store.get(name);
    if (known || !options.reloadOnMiss || !SKILL_NAME.test(name)) return known;
    await reload();
    return store.get(name);
  }

  async function runRequest(request: RunRequest, runOptions: Omit<RunOptions, "resume">) {
    let { name, code } = request;
    if (name !== undefined && code !== undefined) {
      throw new SkillsmithError(
        "INVALID_ARGUMENTS",
        "Give either name (a saved skill) or code (to run ad hoc), not both.",
      );
    }
    if (name === undefined && code === undefined) {
      if (request.resume === undefined) {
        throw new SkillsmithError("INVALID_ARGUMENTS", "Give name (a saved skill) or code (to run ad hoc).");
      }
      const from = await runner.record(request.resume);
      if (!from) throw noRun(request.resume);
      ({ skill: name, code } = from);
    }
    const resume = request.resume !== undefined ? { resume: request.resume } : {};
    if (name === undefined)
      return runner.run({ code: code ?? "" }, request.input ?? {}, { ...runOptions, ...resume });
    const skill = await find(name);
    if (!skill) throw noSkill(name);
    if (request.resume === undefined) checkInput(skill, request.input ?? {});
    return runner.run({ code: skill.code, skill }, request.input ?? {}, { ...runOptions, ...resume });
  }

  const api: Skills = {
    async load() {
      await store.load();
      refresh();
    },
    list: () => store.list(),
    get: (name) => store.get(name),
    find,
    usedBy: (name) => callers.get(name) ?? [],
    onChange(listener) {
      listeners.push(listener);
      return () => {
        const at = listeners.indexOf(listener);
        if (at >= 0) listeners.splice(at, 1);
      };
    },

    async save(request, saveOptions = {}) {
      const { name } = request;
      if (!SKILL_NAME.test(name)) {
        throw invalid(
          name,
          "the name must match ^[a-z][a-z0-9_-]{0,47}$ (lowercase letter first; letters, digits, '_', '-').",
        );
      }
      if (options.reserved.includes(name))
        throw invalid(name, `"${name}" is the name of one of Skillsmith's own tools.`);
      const before = store.get(name);
      if (before && !request.overwrite) throw exists(name, before.version);
      if (!request.description.trim())
        throw invalid(name, "the description is empty; say what the skill does.");

      const inputSchema = request.inputSchema ?? DEFAULT_INPUT_SCHEMA;
      if (inputSchema.type !== undefined && inputSchema.type !== "object") {
        throw invalid(
          name,
          'the inputSchema must describe an object ({"type": "object", "properties": {…}}).',
        );
      }
      const compiled = compileSchema(inputSchema);
      if (compiled instanceof Error)
        throw invalid(name, `the inputSchema is not a valid JSON Schema: ${compiled.message}`);

      const source = await sourceOf(request);
      if (source.testInput) checkInput({ name, inputSchema }, source.testInput);
      const loadError = await compile(source.code);
      if (loadError) throw invalid(name, `the code does not load in the sandbox: ${loadError}`);

      const called = literalCalls(source.code);
      const tools = called.filter((c) => !isSkillName(c));
      const skillPins = pinSkills(name, called.filter(isSkillName));
      // Resolving waits for servers still connecting, so a save right after start sees every tool.
      const resolved = await Promise.all(
        tools.map((t) =>
          calls.resolve(t).then(
            (record) => ({ name: t, record }),
            (error: unknown) => ({ name: t, error }),
          ),
        ),
      );
      const unknown = resolved.filter((r) => "error" in r).map((r) => r.name);
      if (unknown.length > 0) {
        const why = resolved.flatMap((r) =>
          "error" in r && r.error instanceof SkillsmithError && r.error.code === "SERVER_UNAVAILABLE"
            ? [` ${r.error.message}`]
            : [],
        );
        throw invalid(
          name,
          `the code calls tools that do not exist: ${unknown.join(", ")}. Find the right names with search_tools.${[...new Set(why)].join("")}`,
          { unknownTools: unknown },
        );
      }
      const pins = Object.fromEntries(
        resolved.flatMap((r) => ("record" in r ? [[r.name, r.record.hash]] : [])),
      );

      let testRun: RunRecord | undefined;
      if (request.test) {
        checkInput({ name, inputSchema }, request.test.input);
        testRun = await runner.run(
          {
            code: source.code,
            skill: { name, version: (before?.version ?? 0) + 1, tools: pins, skills: skillPins },
          },
          request.test.input,
          { persist: false, ...(saveOptions.relay && { relay: saveOptions.relay }) },
        );
        if (testRun.status !== "ok") {
          const at = testRun.failedStep
            ? ` in step ${testRun.failedStep.index} "${testRun.failedStep.label}"`
            : "";
          throw invalid(name, `the test run failed${at}: ${testRun.error ?? "unknown error"}`, {
            testRun: {
              error: testRun.error,
              failedStep: testRun.failedStep,
              logs: testRun.logs,
              steps: testRun.steps.length,
            },
          });
        }
      }

      const computedCalls = callsComputed(source.code);
      const test = request.test ?? (source.testInput && { input: source.testInput });
      const skill = await store
        .save(
          {
            name,
            description: request.description.trim(),
            inputSchema,
            code: source.code,
            tools: pins,
            ...(Object.keys(skillPins).length > 0 && { skills: skillPins }),
            computedCalls,
            ...(test && { test }),
            ...(request.fromRun !== undefined && { fromRun: request.fromRun }),
          },
          { overwrite: request.overwrite },
        )
        .catch((error: unknown) => {
          // Saved meanwhile (by another client or instance): the check above saw the folder before that save.
          if (error instanceof SkillExistsError) throw exists(name, error.version);
          throw error;
        });
      refresh();
      return {
        name,
        version: skill.version,
        tools,
        skills: skillPins,
        computedCalls,
        ...(testRun && { testRun }),
        ...(request.fromRun !== undefined && { fromRun: request.fromRun }),
      };
    },

    async run(request, runOptions = {}) {
      const started = performance.now();
      try {
        const record = await runRequest(request, runOptions);
        observer.run(record.status === "ok" ? "ok" : "failed", performance.now() - started);
        return record;
      } catch (error) {
        observer.run("failed", performance.now() - started);
        throw error;
      }
    },

    versions: (name) => store.versions(name),

    async restore(name, version) {
      const versions = await store.versions(name);
      if (versions.length === 0) throw noSkill(name);
      const chosen = versions.find((v) => v.version === version);
      if (!chosen) {
        throw new SkillsmithError(
          "SKILL_INVALID",
          `Skill "${name}" has no version ${version}; it keeps versions ${versions.map((v) => v.version).join(", ")}.`,
          { name, versions: versions.map((v) => v.version) },
        );
      }
      return api.save({
        name,
        description: chosen.description,
        code: chosen.code,
        inputSchema: chosen.inputSchema,
        overwrite: true,
      });
    },

    async remove(name) {
      if (!(await store.remove(name))) throw noSkill(name);
      refresh();
    },
  };
  return api;
}
