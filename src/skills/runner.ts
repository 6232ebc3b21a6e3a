import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { coalesced, createInFlight } from "../async.js";
import type { ToolCalls } from "../calls/tool-calls.js";
import type { Catalog } from "../catalog/catalog.js";
import { clip } from "../catalog/render.js";
import type { SandboxOptions, ServerOptions } from "../config.js";
import type { CallRelay } from "../downstream/connection.js";
import { errorTextOf } from "../downstream/payload.js";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { Logger } from "../logger.js";
import { createRecords } from "../store/records.js";
import type { StateStore } from "../store/state-store.js";
import {
  createFrames,
  type Frames,
  replayOf,
  type StepRecord,
  stepRecordSchema,
  withoutValues,
} from "./frames.js";
import { callSkill, isSkillName, skillDrift } from "./nested-skills.js";
import { skillRefusal } from "./policy.js";
import { createRunIndex } from "./run-index.js";
import { type RunFailure, type RunLimits, TOP_FRAME } from "./sandbox/protocol.js";
import type { CallOrigin, Sandbox } from "./sandbox/sandbox.js";
import type { Skill } from "./skill-store.js";

/**
 * One run as kept in the store (namespace "runs"): enough to report it, resume it and save it. A run of a saved
 * skill names it; an ad-hoc run (code not saved) keeps its code instead.
 */
export const runRecordSchema = z.object({
  runId: z.string(),
  skill: z.string().optional(),
  version: z.int().optional(),
  code: z.string().optional(),
  input: z.unknown(),
  /** "resumed": a failed (or crashed) run that a later run took over; it is never resumed again. */
  status: z.enum(["running", "ok", "failed", "resumed"]),
  resumedFrom: z.string().optional(),
  /** The run that resumed this one. */
  resumedBy: z.string().optional(),
  steps: z.array(stepRecordSchema),
  calls: z.int(),
  /** Every tool the run called, in the order of its first call. */
  tools: z.array(z.string()),
  logs: z.array(z.string()),
  warnings: z.array(z.string()),
  result: z.unknown().optional(),
  error: z.string().optional(),
  limit: z.string().optional(),
  failedStep: z.object({ index: z.int(), label: z.string() }).optional(),
  startedAt: z.string(),
  tookMs: z.number(),
});

export type RunRecord = z.infer<typeof runRecordSchema>;
export type { StepRecord };

export interface RunOptions {
  resume?: string;
  timeoutMs?: number;
  /** Called as each step completes or is replayed (progress notifications). */
  onStep?(step: StepRecord, done: number): void;
  /** Test runs before a save are not kept for resume. */
  persist?: boolean;
  /** Where downstream progress, logs and requests of the run's calls go (the client that started the run). */
  relay?: CallRelay;
}

/** What a run runs: a saved skill's code (named, with its pins), or code given ad hoc. */
export type Program = { code: string; skill?: Pick<Skill, "name" | "version" | "tools" | "skills"> };

export interface SkillRunner {
  run(program: Program, input: unknown, options?: RunOptions): Promise<RunRecord>;
  /** A run's record, while the store keeps it. */
  record(runId: string): Promise<RunRecord | undefined>;
  /** The most recent runs (saved skills and ad hoc, from every instance sharing the store), newest first. */
  recent(limit: number): Promise<RunRecord[]>;
  /** Waits for run records still being written (before the store closes). */
  flush(): Promise<void>;
}

export interface RunnerOptions {
  sandbox: Sandbox;
  store: StateStore;
  catalog: Catalog;
  calls: ToolCalls;
  limits: SandboxOptions;
  /** The operator's policy for code, per server (`skillsmith.servers.<name>.skills`). */
  serverOptions(server: string): ServerOptions;
  /** The saved skills, which code may call by name. */
  skills: { get(name: string): Skill | undefined; list(): Skill[] };
  logger: Logger;
}

const MAX_LOG_LINES = 200;
/** Run records are kept for a week: long enough to resume, bounded for the store. */
const RUN_TTL_MS = 7 * 24 * 3600 * 1000;
/** And at most this many: past it, the oldest go first. */
const MAX_RUNS = 10_000;
/** How long a run goes before its record is first written (unless a step completes sooner). */
const RUNNING_MARK_MS = 1000;
/** A run still "running" this long after its time limit ran out crashed (its instance died): it may be resumed. */
const CRASH_GRACE_MS = 60_000;

export function createSkillRunner(options: RunnerOptions): SkillRunner {
  const { sandbox, catalog, calls } = options;
  // Strict: a run the store cannot read now must not pass for one that does not exist.
  const runs = createRecords(options.store, "runs", runRecordSchema, { maxEntries: MAX_RUNS, strict: true });

  const index = createRunIndex(options.store);
  const writes = createInFlight();
  // Runs this instance answered, as they ended: a save fromRun or a resume right after the answer must not
  // read an older copy while the final write is still on its way to the store.
  const ended = new LRUCache<string, RunRecord>({ max: 500, ttl: 10 * 60_000 });
  const readRun = async (runId: string) => {
    try {
      return ended.get(runId) ?? (await runs.get(runId));
    } catch (error) {
      throw storeFailed(options.store.url, `read run "${runId}"`, error);
    }
  };

  /** The tools a skill pinned at save time that changed or vanished since: reported, never silently used. */
  function drift(pins: Record<string, string>): string[] {
    return Object.entries(pins).flatMap(([name, hash]) => {
      const now = catalog.get(name);
      if (!now) return [`${name} is not available now (its server may be down or the tool removed).`];
      if (now.hash !== hash) {
        return [
          `${name} changed since the skill was saved (definition ${hash} → ${now.hash}); check its answers still fit.`,
        ];
      }
      return [];
    });
  }

  /**
   * The skill's `call`: a saved skill (a name without a dot) runs inside this run; a tool goes the one call path,
   * under the operator's policy for code, and an answer the tool marks as an error rejects with its text.
   */
  async function call(
    name: string,
    args: unknown,
    origin: CallOrigin,
    run: RunRecord,
    frames: Frames,
    relay: CallRelay | undefined,
    signal: AbortSignal,
  ): Promise<unknown> {
    if (isSkillName(name)) {
      return callSkill(name, args, origin, {
        frames,
        skills: options.skills,
        maxDepth: options.limits.maxDepth,
        // A nested skill's pins are checked like the run's own: what changed since it was saved is said.
        onEnter: (skill) => {
          for (const w of [...drift(skill.tools), ...skillDrift(skill, options.skills)]) warn(run, w);
        },
      });
    }
    const prepared = await calls.prepare(name, args, signal);
    const refusal = skillRefusal(prepared.tool, options.serverOptions(prepared.tool.server).skills);
    if (refusal) throw new Error(refusal);
    if (!run.tools.includes(prepared.tool.name)) run.tools.push(prepared.tool.name);
    const { result, value } = await calls.invoke(prepared, { signal, ...(relay && { relay }) });
    if (result.isError) throw new Error(`${name} answered with an error: ${errorTextOf(result)}`);
    return value;
  }

  return {
    flush: () => writes.settled(),
    record: readRun,
    async recent(limit) {
      const found = await Promise.all((await index.recent(limit)).map(readRun));
      return found.filter((run) => run !== undefined);
    },
    async run(program, input, runOptions = {}) {
      const { skill } = program;
      const runId = randomUUID();
      let replayFrom: RunRecord | undefined;
      if (runOptions.resume !== undefined) {
        replayFrom = await claimResume(options, runOptions.resume, skill?.name, runId);
        // This instance's copy of the record says "failed": from now on the store's says "resumed".
        ended.delete(runOptions.resume);
      }
      const limits = runLimits(options.limits, runOptions.timeoutMs);
      const record: RunRecord = {
        runId,
        ...(skill ? { skill: skill.name, version: skill.version } : { code: program.code }),
        input: replayFrom ? replayFrom.input : input,
        status: "running",
        ...(replayFrom && { resumedFrom: replayFrom.runId }),
        steps: [],
        calls: 0,
        tools: [],
        logs: [],
        warnings: skill ? [...drift(skill.tools), ...skillDrift(skill, options.skills)] : [],
        startedAt: new Date().toISOString(),
        tookMs: 0,
      };
      if (limits.timeoutMs < (runOptions.timeoutMs ?? 0))
        record.warnings.push(clampedTimeout(limits.timeoutMs));
      const persist = runOptions.persist ?? true;
      // One write in flight at a time; steps completed meanwhile go out together in the next write, so a
      // slow store never queues one write per step. A failing store never fails the run (it is said, once a minute).
      const write = coalesced(() =>
        runs
          .set(record.runId, storedRecord(record), RUN_TTL_MS)
          .catch((error: unknown) =>
            options.store.reportFailure("runs", `could not save run ${record.runId}`, error),
          ),
      );
      const save = (): Promise<void> => (persist ? writes.track(write()) : Promise.resolve());

      const frames = createFrames(skill?.name ?? "ad-hoc code", record.steps, replayFrom?.steps ?? []);
      let done = 0;
      const started = performance.now();
      // A run that ends within a second is written once, when it ends (a write at its start would be replaced at
      // once); a longer one is recorded as running by then, or at its first step, so a crash leaves it resumable.
      const markRunning = setTimeout(() => void save(), RUNNING_MARK_MS);
      if (persist)
        void writes.track(
          index
            .add(runId)
            .catch((error: unknown) =>
              options.store.reportFailure("run-index", `could not list run ${runId}`, error),
            ),
        );
      // Aborted when the run ends, however it ends: its queued calls never go out, and those in flight are cancelled.
      const ending = new AbortController();
      const outcome = await sandbox.run(
        {
          code: program.code,
          input: record.input,
          limits,
          replay: replayOf(replayFrom?.steps ?? []),
        },
        {
          call: (name, args, origin) => {
            record.calls++;
            return call(name, args, origin, record, frames, runOptions.relay, ending.signal);
          },
          onStep(step) {
            const entry = frames.step(step);
            if (step.frame === TOP_FRAME) runOptions.onStep?.(entry, ++done);
            void save();
          },
          onLog(text) {
            if (record.logs.length < MAX_LOG_LINES) record.logs.push(clip(text, 1000));
            else if (record.logs.length === MAX_LOG_LINES) record.logs.push(`… further log lines dropped`);
          },
        },
      );
      clearTimeout(markRunning);
      ending.abort(new Error("the run ended"));
      record.tookMs = Math.round(performance.now() - started);
      if (outcome.ok) {
        record.status = "ok";
        record.result = outcome.result;
      } else {
        applyFailure(record, outcome.error);
      }
      // A failed run is resumable only once its record is stored: answer after that write. A finished
      // run's record is history; it is written in the background.
      if (persist) ended.set(record.runId, storedRecord(record));
      if (record.status === "failed") await save();
      else void save();
      return record;
    },
  };
}

/** Adds a warning to the run once (a skill called many times warns once). */
function warn(run: RunRecord, warning: string): void {
  if (!run.warnings.includes(warning)) run.warnings.push(warning);
}

/** The limits of one run: the configured ones; a run's own timeoutMs may lower the configured one, never raise it. */
function runLimits(configured: SandboxOptions, timeoutMs: number | undefined): RunLimits {
  return {
    timeoutMs: Math.min(timeoutMs ?? configured.timeoutMs, configured.timeoutMs),
    memoryBytes: configured.memoryMb * 1024 * 1024,
    maxCalls: configured.maxCalls,
    maxResultBytes: configured.maxResultBytes,
    maxStepBytes: configured.maxStepBytes,
    maxLogBytes: configured.maxLogBytes,
    maxLogLines: configured.maxLogLines,
    maxCallBytes: configured.maxCallBytes,
  };
}

const clampedTimeout = (limit: number) =>
  `timeoutMs was lowered to ${limit} ms, the configured limit (skillsmith.sandbox.timeoutMs); a run may only ask for less.`;

/**
 * Takes over run `runId` for its successor, once: in one compare-and-set on the store, a failed run (or one that
 * crashed while running) becomes "resumed" by `successor`, so any other resume, on any instance, at the same time
 * or later, is refused naming the successor and no step runs twice. Returns the record as it was, steps and all.
 */
async function claimResume(
  options: Pick<RunnerOptions, "store" | "limits">,
  runId: string,
  skillName: string | undefined,
  successor: string,
): Promise<RunRecord> {
  const crashedBefore = Date.now() - options.limits.timeoutMs - CRASH_GRACE_MS;
  const resumable = (run: RunRecord) =>
    run.skill === skillName &&
    (run.status === "failed" || (run.status === "running" && Date.parse(run.startedAt) < crashedBefore));
  let seen: RunRecord | undefined;
  try {
    const { changed } = await options.store.update<unknown>("runs", runId, (current) => {
      const parsed = runRecordSchema.safeParse(current);
      seen = parsed.success ? parsed.data : undefined;
      if (!seen || !resumable(seen)) return undefined;
      // Nothing replays from this record again: its step values go (the successor's record holds them).
      const steps = withoutValues(seen.steps);
      return { set: { ...seen, status: "resumed", resumedBy: successor, steps }, ttlMs: RUN_TTL_MS };
    });
    if (changed && seen) return seen;
  } catch (error) {
    throw storeFailed(options.store.url, `resume run "${runId}"`, error);
  }
  throw resumeRefused(runId, seen, skillName, crashedBefore);
}

function resumeRefused(
  runId: string,
  run: RunRecord | undefined,
  skillName: string | undefined,
  crashedBefore: number,
): SkillsmithError {
  const refuse = (message: string, data: Record<string, unknown> = {}) =>
    new SkillsmithError("SKILL_INVALID", message, { runId, ...data });
  if (!run) return refuse(`No run "${runId}" to resume (runs are kept for 7 days).`);
  if (run.status === "resumed") {
    return refuse(
      `Run "${runId}" was already resumed by run "${run.resumedBy}"; a run is resumed once. If that run failed, resume it instead.`,
      { resumedBy: run.resumedBy },
    );
  }
  if (run.status === "ok") {
    return refuse(
      `Run "${runId}" finished successfully; there is nothing to resume. Run the skill again instead.`,
    );
  }
  if (run.skill !== skillName) {
    const what = (name: string | undefined) => (name ? `skill "${name}"` : "ad-hoc code");
    return refuse(`Run "${runId}" ran ${what(run.skill)}, not ${what(skillName)}.`);
  }
  const after = new Date(Date.parse(run.startedAt) + (Date.now() - crashedBefore)).toISOString();
  return refuse(
    `Run "${runId}" is still running (started ${run.startedAt}); if its gateway died, it can be resumed after ${after}.`,
  );
}

/** A store that failed where a run needs it: said as such, not as a missing run. */
function storeFailed(url: string, what: string, error: unknown): SkillsmithError {
  return new SkillsmithError(
    "SKILL_INVALID",
    `Could not ${what}: the store ${url} failed (${errorMessage(error)}). Try again once it answers.`,
    { store: url },
  );
}

/** What is stored of a run: step values are kept only while the run may still be resumed. */
function storedRecord(record: RunRecord): RunRecord {
  const copy = structuredClone(record);
  if (copy.status === "ok") copy.steps = withoutValues(copy.steps);
  return copy;
}

function applyFailure(record: RunRecord, failure: RunFailure): void {
  record.status = "failed";
  record.error = failure.message;
  if (failure.limit) record.limit = failure.limit;
  if (failure.step) record.failedStep = failure.step;
}
