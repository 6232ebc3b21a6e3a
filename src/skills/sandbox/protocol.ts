/** Messages between the gateway and a sandbox worker. Values cross as JSON text, never as live objects. */

export interface RunLimits {
  /** Wall time of the whole run, from start to result. */
  timeoutMs: number;
  /** QuickJS heap of the run. */
  memoryBytes: number;
  /** Tool calls the run may make. */
  maxCalls: number;
  /** Size of the JSON result. */
  maxResultBytes: number;
  /** JSON bytes of all step values of the run together (the host keeps them in the run record). */
  maxStepBytes: number;
  /** Bytes of all `log()` lines of the run together. */
  maxLogBytes: number;
  /** `log()` calls of the run. */
  maxLogLines: number;
  /** JSON bytes of one call's arguments, and of one answer. */
  maxCallBytes: number;
}

export type LimitName = keyof RunLimits;

export interface ReplayStep {
  /** The step's index in its run: steps are numbered in the order they begin. */
  index: number;
  label: string;
  /** JSON text of the value recorded for the step. */
  json: string;
  /** The step of the same skill whose function began this one, when known: replaying it skips this one too. */
  parent?: number;
}

/**
 * A step as the skill reported it (completed or replayed). `frame`: TOP_FRAME for the run's own steps, else the id
 * of the call that entered the nested skill.
 */
export interface ReportedStep {
  frame: number;
  index: number;
  label: string;
  value: unknown;
  ms: number;
  replayed: boolean;
  /** The step of the same skill whose function began this one, when known. */
  parent?: number;
}

export type ToWorker =
  | { t: "run"; code: string; inputJson: string; limits: RunLimits; replay: ReplayStep[] }
  | { t: "compile"; code: string; timeoutMs: number }
  | { t: "reply"; id: number; ok: true; json: string }
  | { t: "reply"; id: number; ok: false; message: string }
  /**
   * Call `id` named a saved skill: run its code as frame `id` (in the same runtime, under the same limits), and
   * answer with "returned" once it settles. `replay`: the frame's own completed steps of the run being resumed.
   */
  | { t: "enter"; id: number; skill: string; code: string; inputJson: string; replay: ReplayStep[] }
  /** The host stopped the run (a budget it keeps broke): finish it with this failure. */
  | { t: "stop"; error: RunFailure };

export interface RunFailure {
  message: string;
  /** Set when a limit stopped the run. */
  limit?: LimitName;
  /** The step that was running when the run failed. */
  step?: { index: number; label: string };
}

/** Where a call was made: the frame (TOP_FRAME, or the id of the skill call that entered it) and its open step. */
export interface CallSite {
  frame: number;
  /** The caller's step the call belongs to (see `siteOf` in worker.ts); absent when no step of its frame is open. */
  step?: { index: number; label: string };
}

/** The frame of the run's own code; a nested skill's frame is numbered by the call that entered it. */
export const TOP_FRAME = -1;

export type FromWorker =
  | { t: "ready" }
  | { t: "call"; id: number; tool: string; argsJson: string; site: CallSite }
  | {
      t: "step";
      frame: number;
      index: number;
      label: string;
      json: string;
      ms: number;
      replayed: boolean;
      parent?: number;
    }
  /** The nested skill run as frame `id` settled: its result (JSON text), or why it failed and in which of its steps. */
  | { t: "returned"; id: number; ok: true; json: string }
  | { t: "returned"; id: number; ok: false; message: string; step?: { index: number; label: string } }
  | { t: "log"; text: string }
  /** `recycle`: the run's QuickJS state could not be freed cleanly, so the worker asks to be replaced. */
  | { t: "done"; ok: true; json: string; recycle: boolean }
  | { t: "done"; ok: false; error: RunFailure; recycle: boolean }
  | { t: "compiled"; ok: boolean; message?: string; recycle: boolean };
