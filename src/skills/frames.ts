/**
 * The frames of one run: the run's own code, and every saved skill it called (and they called), as a tree of
 * steps in the run record. A nested skill's steps are kept under the caller's step that called it
 * (`steps[i].children`), so a resume can hand each nested call the completed steps of the same call before it.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { clip } from "../catalog/render.js";
import { renderShape, shapeOf } from "../shapes/shape.js";
import { type CallSite, type ReplayStep, type ReportedStep, TOP_FRAME } from "./sandbox/protocol.js";

export interface StepRecord {
  index: number;
  label: string;
  ms: number;
  shape: string;
  replayed: boolean;
  /** The anchored value, replayed on resume. */
  value: unknown;
  /** The step of the same skill whose function began this one, when known. */
  parent?: number;
  /** The step began and has not completed (it holds nested skills' steps): never replayed itself. */
  open?: true;
  /** The saved skills this step called, each with its own steps. */
  children?: NestedRun[];
}

/** One call of a saved skill from inside a run, and the steps it recorded. */
export interface NestedRun {
  skill: string;
  version: number;
  /** The input as JSON, cut to INPUT_PREVIEW characters: the record shows it, never holds a huge one. */
  input: string;
  /** What a resume matches the call by (with the skill and the calling step): a hash of the whole input. */
  inputHash: string;
  status: "running" | "ok" | "failed";
  error?: string;
  ms: number;
  steps: StepRecord[];
}

export const stepRecordSchema: z.ZodType<StepRecord> = z.lazy(() =>
  z.object({
    index: z.int(),
    label: z.string(),
    ms: z.number(),
    shape: z.string(),
    replayed: z.boolean(),
    value: z.unknown(),
    parent: z.int().optional(),
    open: z.literal(true).optional(),
    children: z.array(nestedRunSchema).optional(),
  }),
);

const nestedRunSchema: z.ZodType<NestedRun> = z.lazy(() =>
  z.object({
    skill: z.string(),
    version: z.int(),
    input: z.string(),
    inputHash: z.string(),
    status: z.enum(["running", "ok", "failed"]),
    error: z.string().optional(),
    ms: z.number(),
    steps: z.array(stepRecordSchema),
  }),
);

const INPUT_PREVIEW = 200;
const ERROR_CHARS = 2000;

const inputHashOf = (input: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(input ?? null))
    .digest("hex")
    .slice(0, 32);

/** A nested call's failure as the record keeps it (the caller's run error carries it whole). */
export const nestedError = (message: string) => clip(message, ERROR_CHARS);

interface Frame {
  /** The skills from the run's own code down to this frame: the chain a cycle or a depth error names. */
  chain: string[];
  /** Where its steps are recorded (a detached list when it was called outside any step: not anchored). */
  steps: StepRecord[];
  /** The resumed run's record of this frame's steps, to replay from. */
  source: StepRecord[];
}

export interface Frames {
  chainOf(frame: number): string[];
  /**
   * Records a nested call of `skill` made at `site` as frame `id`, under the caller's step, and finds what to
   * replay: the completed steps of the same skill, called with the same input from the same step, in the run
   * being resumed (each recorded call is matched once; calls with the same input are interchangeable).
   */
  enter(
    id: number,
    site: CallSite,
    skill: { name: string; version: number },
    input: unknown,
  ): {
    nested: NestedRun;
    replay: ReplayStep[];
  };
  /** Places a step the skill reported; returns it (the caller reports the run's own steps as progress). */
  step(reported: ReportedStep): StepRecord;
}

/** Values are not kept in the copies shown under a step replayed whole: nothing replays from them again. */
function replayedCopy(nested: NestedRun[]): NestedRun[] {
  return nested.map((n) => ({
    ...n,
    steps: n.steps.map((s) => ({
      ...s,
      value: null,
      replayed: true,
      ...(s.children && { children: replayedCopy(s.children) }),
    })),
  }));
}

export const replayOf = (steps: StepRecord[]): ReplayStep[] =>
  steps
    .filter((s) => !s.open)
    .map((s) => ({
      index: s.index,
      label: s.label,
      json: JSON.stringify(s.value ?? null),
      ...(s.parent !== undefined && { parent: s.parent }),
    }));

/** `top`: the run's record of its own steps; `source`: those of the run it resumes. */
export function createFrames(topName: string, top: StepRecord[], source: StepRecord[]): Frames {
  const frames = new Map<number, Frame>([[TOP_FRAME, { chain: [topName], steps: top, source }]]);
  const used = new Set<NestedRun>();

  const frameOf = (id: number): Frame => {
    const frame = frames.get(id);
    if (!frame) throw new Error(`no frame ${id} in this run`);
    return frame;
  };

  /** The record of a step in a frame's list, opened (as a placeholder) when a nested call needs it first. */
  function stepIn(steps: StepRecord[], index: number, label: string): StepRecord {
    const found = steps.find((s) => s.index === index);
    if (found) return found;
    const opened: StepRecord = { index, label, ms: 0, shape: "", replayed: false, value: null, open: true };
    steps.push(opened);
    steps.sort((a, b) => a.index - b.index);
    return opened;
  }

  return {
    chainOf: (id) => frameOf(id).chain,

    enter(id, site, skill, input) {
      const caller = frameOf(site.frame);
      const inputHash = inputHashOf(input);
      const nested: NestedRun = {
        skill: skill.name,
        version: skill.version,
        input: clip(JSON.stringify(input ?? null), INPUT_PREVIEW),
        inputHash,
        status: "running",
        ms: 0,
        steps: [],
      };
      let source: StepRecord[] = [];
      if (site.step) {
        const at = stepIn(caller.steps, site.step.index, site.step.label);
        at.children = [...(at.children ?? []), nested];
        const before = caller.source
          .find((s) => s.index === site.step?.index)
          ?.children?.find((c) => c.skill === skill.name && !used.has(c) && c.inputHash === inputHash);
        if (before) {
          used.add(before);
          source = before.steps;
        }
      }
      frames.set(id, { chain: [...caller.chain, skill.name], steps: nested.steps, source });
      return { nested, replay: replayOf(source) };
    },

    step({ frame: id, index, label, value, ms, replayed, parent }) {
      const frame = frameOf(id);
      const at = stepIn(frame.steps, index, label);
      if (parent !== undefined) at.parent = parent;
      at.ms = ms;
      at.shape = clip(renderShape(shapeOf(value)), 300);
      at.replayed = replayed;
      at.value = value;
      delete at.open;
      if (replayed) {
        const before = frame.source.find((s) => s.index === index)?.children;
        if (before) at.children = replayedCopy(before);
      }
      return at;
    },
  };
}

/** Step values dropped through the whole tree (a finished run's record, a resumed run's record). */
export function withoutValues(steps: StepRecord[]): StepRecord[] {
  return steps.map((s) => ({
    ...s,
    value: null,
    ...(s.children && {
      children: s.children.map((c) => ({ ...c, steps: withoutValues(c.steps) })),
    }),
  }));
}
