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
}

export type ToWorker =
  | { t: "run"; code: string; inputJson: string; limits: RunLimits; replay: ReplayStep[] }
  | { t: "compile"; code: string; timeoutMs: number }
  | { t: "reply"; id: number; ok: true; json: string }
  | { t: "reply"; id: number; ok: false; message: string }
  /** The host stopped the run (a budget it keeps broke): finish it with this failure. */
  | { t: "stop"; error: RunFailure };

export interface RunFailure {
  message: string;
  /** Set when a limit stopped the run. */
  limit?: LimitName;
  /** The step that was running when the run failed. */
  step?: { index: number; label: string };
}

export type FromWorker =
  | { t: "ready" }
  | { t: "call"; id: number; tool: string; argsJson: string }
  | { t: "step"; index: number; label: string; json: string; ms: number; replayed: boolean }
  | { t: "log"; text: string }
  /** `recycle`: the run's QuickJS state could not be freed cleanly, so the worker asks to be replaced. */
  | { t: "done"; ok: true; json: string; recycle: boolean }
  | { t: "done"; ok: false; error: RunFailure; recycle: boolean }
  | { t: "compiled"; ok: boolean; message?: string; recycle: boolean };
