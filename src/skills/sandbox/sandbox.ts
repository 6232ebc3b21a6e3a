import { Worker } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { encodeWithin, MAX_DEPTH, oversized } from "./json-budget.js";
import { limitMessage } from "./limits.js";
import type {
  CallSite,
  FromWorker,
  LimitName,
  ReplayStep,
  ReportedStep,
  RunFailure,
  RunLimits,
  ToWorker,
} from "./protocol.js";

/** A saved skill to run as the frame of a call, inside the run that called it. */
export interface NestedJob {
  skill: string;
  code: string;
  input: unknown;
  replay: ReplayStep[];
}

/** Where a call came from, and how to run a saved skill it names as part of the same run. */
export interface CallOrigin {
  /** The call's id in its run; a skill it enters runs as the frame of that number. */
  id: number;
  site: CallSite;
  /** Runs the skill in this run's sandbox; resolves to its result, rejects with why it failed (and in which step). */
  enter(job: NestedJob): Promise<unknown>;
}

/** Why a nested skill failed: its message, and the step of its own that was open. */
export class NestedFailure extends Error {
  constructor(
    message: string,
    readonly step?: { index: number; label: string },
  ) {
    super(message);
  }
}

export interface SandboxHooks {
  /** A call from the skill; resolves to the value the skill sees, rejects with the message it sees. */
  call(tool: string, args: unknown, origin: CallOrigin): Promise<unknown>;
  onStep(step: ReportedStep): void;
  onLog(text: string): void;
}

export interface SandboxJob {
  code: string;
  input: unknown;
  limits: RunLimits;
  replay: ReplayStep[];
}

export type SandboxOutcome = { ok: true; result: unknown } | { ok: false; error: RunFailure };

/** The skill sandbox: QuickJS in a pool of pre-warmed worker threads. */
export interface Sandbox {
  run(job: SandboxJob, hooks: SandboxHooks): Promise<SandboxOutcome>;
  /** Evaluates a module without running it: undefined when it loads, else what is wrong. */
  compile(code: string): Promise<string | undefined>;
  /** Starts the workers now rather than at the first run (a long-lived server warms up before it is asked). */
  warm(): void;
  /** The pool's size (configured), its workers started, and the runs and compiles waiting for one. */
  stats(): { size: number; workers: number; queued: number };
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  /** Shared with the worker: set to 1 to interrupt the skill's code at once (see `halt` in worker.ts). */
  halt: Int32Array;
  ready: Promise<void>;
  /** The job's listener while busy. */
  onMessage?: (message: FromWorker) => void;
  onExit?: (reason: string) => void;
}

/** How long past its own deadline a worker may take to report a breach before it is terminated. */
const GRACE_MS = 2000;
const COMPILE_TIMEOUT_MS = 2000;

/**
 * From dist/ the worker is plain JS. From src/ (tests, benches) it is TypeScript: Node 20 does not apply
 * `--import tsx` to a worker's entry, so a small ESM entry registers tsx first, then imports the worker.
 */
function workerUrl(): URL {
  if (!import.meta.url.endsWith(".ts")) return new URL("./worker.js", import.meta.url);
  const entry =
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register();\n` +
    `await import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(entry)}`);
}

/** What the run record keeps of a step beside its value and label (index, timing, a shape of up to 300 characters). */
const STEP_RECORD_BYTES = 400;
/** Longer than any tool's name: a longer one is refused before it is looked up (the lookup searches the catalog). */
const MAX_TOOL_NAME = 256;

/** What a run has sent the host so far, counted against its budgets. */
interface Used {
  stepBytes: number;
  logBytes: number;
  logLines: number;
}

/** The budget a message from the worker breaks, once what it adds is counted; undefined when it fits. */
function breach(
  message: FromWorker,
  used: Used,
  limits: RunLimits,
): { limit: LimitName; detail?: string } | undefined {
  switch (message.t) {
    case "call":
      return Buffer.byteLength(message.argsJson) > limits.maxCallBytes
        ? { limit: "maxCallBytes", detail: `the arguments of ${message.tool}` }
        : undefined;
    case "returned":
      return message.ok && Buffer.byteLength(message.json) > limits.maxCallBytes
        ? { limit: "maxCallBytes", detail: "the result of a nested skill" }
        : undefined;
    case "step":
      used.stepBytes +=
        Buffer.byteLength(message.json) + Buffer.byteLength(message.label) + STEP_RECORD_BYTES;
      return used.stepBytes > limits.maxStepBytes
        ? { limit: "maxStepBytes", detail: `at step "${message.label}"` }
        : undefined;
    case "log":
      used.logLines += 1;
      used.logBytes += Buffer.byteLength(message.text);
      if (used.logLines > limits.maxLogLines) return { limit: "maxLogLines" };
      return used.logBytes > limits.maxLogBytes ? { limit: "maxLogBytes" } : undefined;
    default:
      return undefined;
  }
}

const nameTooLong = (tool: string) =>
  `call(tool, args): no tool is named "${tool.slice(0, 40)}…" (${tool.length} characters); tools are named "server.tool"`;

const tooDeep = (tool: string) =>
  `${tool} answered with data nested deeper than ${MAX_DEPTH} levels, more than the sandbox takes; ask the tool for less or for a flatter form`;

/** The step a failed run names, to keep in a failure of the host's own. */
const stepOf = (done: Extract<FromWorker, { t: "done" }>) =>
  !done.ok && done.error.step ? { step: done.error.step } : {};

/** JSON text from the worker as a value; throws when it is not JSON or nests deeper than the host takes. */
function parseWithin(json: string, what: string): unknown {
  const value: unknown = JSON.parse(json);
  if (oversized(value, Number.POSITIVE_INFINITY) === "depth")
    throw new Error(`${what} is nested deeper than ${MAX_DEPTH} levels; return flatter data`);
  return value;
}

export function createSandbox(options: { workers?: number; logger: Logger }): Sandbox {
  const size = Math.max(1, options.workers ?? 2);
  const { logger } = options;
  const idle: Slot[] = [];
  const all = new Set<Slot>();
  const queue: Array<(slot: Slot) => void> = [];
  let closed = false;

  function spawn(): Slot {
    const halt = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(workerUrl(), { workerData: { halt } });
    worker.unref();
    let markReady: () => void = () => {};
    const slot: Slot = { worker, halt, ready: new Promise<void>((resolve) => (markReady = resolve)) };
    worker.on("message", (message: FromWorker) => {
      if (message.t === "ready") markReady();
      else slot.onMessage?.(message);
    });
    worker.on("error", (error) => slot.onExit?.(`the sandbox worker failed: ${errorMessage(error)}`));
    worker.on("exit", (code) => {
      all.delete(slot);
      slot.onExit?.(`the sandbox worker exited (code ${code})`);
    });
    all.add(slot);
    return slot;
  }

  function release(slot: Slot): void {
    // The worker has finished its job: a stop meant for it must not interrupt the next one.
    Atomics.store(slot.halt, 0, 0);
    slot.onMessage = undefined;
    slot.onExit = undefined;
    // An idle worker must not keep the process alive; a busy one must.
    slot.worker.unref();
    if (closed || !all.has(slot)) return;
    const next = queue.shift();
    if (next) next(slot);
    else idle.push(slot);
  }

  /** Throws a worker away (stuck, crashed, or unclean) and starts a fresh one in its place. */
  function replace(slot: Slot): void {
    all.delete(slot);
    slot.onMessage = undefined;
    slot.onExit = undefined;
    void slot.worker.terminate();
    if (closed) return;
    logger.debug("sandbox: replacing a worker");
    release(spawn());
  }

  // Workers start at the first use, or when warmed: a one-shot command that runs no skill starts none.
  let started = false;
  function warm(): void {
    if (started || closed) return;
    started = true;
    for (let i = 0; i < size; i++) idle.push(spawn());
  }

  async function acquire(): Promise<Slot> {
    if (closed) throw new Error("the sandbox is closed");
    warm();
    const slot = idle.shift() ?? (await new Promise<Slot>((resolve) => queue.push(resolve)));
    slot.worker.ref();
    await slot.ready;
    return slot;
  }

  /**
   * Runs one job on a worker. Everything the worker sends is checked against the run's budgets before the host
   * keeps or parses it, and any message that cannot be handled fails this run only (the worker is replaced).
   */
  function runOn(slot: Slot, job: SandboxJob, hooks: SandboxHooks, resolve: (o: SandboxOutcome) => void) {
    const { limits } = job;
    const used: Used = { stepBytes: 0, logBytes: 0, logLines: 0 };
    let settled = false;
    /** Nested skills running in the worker, by the id of the call that entered them. */
    const nested = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
    /** Set once the host stopped the run: the worker is finishing it, and nothing more of it is acted on. */
    let stopped: RunFailure | undefined;
    const settle = (outcome: SandboxOutcome, broken: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      for (const waiting of nested.values()) waiting.reject(new Error("the run ended"));
      nested.clear();
      if (broken) replace(slot);
      else release(slot);
      resolve(outcome);
    };
    const failure = (error: RunFailure): SandboxOutcome => ({ ok: false, error });
    const timedOut: RunFailure = {
      message: limitMessage("timeoutMs", limits, "the worker was stopped"),
      limit: "timeoutMs",
    };
    let backstop = setTimeout(() => settle(failure(timedOut), true), limits.timeoutMs + GRACE_MS);
    const send = (message: ToWorker) => {
      if (!settled && !stopped) slot.worker.postMessage(message);
    };
    /** Stops the run on a budget the host keeps; the worker names the open step, or is replaced if it does not answer. */
    const stop = (limit: LimitName, detail?: string) => {
      if (stopped) return;
      const error: RunFailure = { message: limitMessage(limit, limits, detail), limit };
      // Code that runs without yielding (a log flood) never reads messages; the shared flag interrupts it.
      Atomics.store(slot.halt, 0, 1);
      send({ t: "stop", error });
      stopped = error;
      clearTimeout(backstop);
      backstop = setTimeout(() => settle(failure(error), true), GRACE_MS);
    };
    const reply = (id: number, tool: string, value: unknown) => {
      const encoded = encodeWithin(value ?? null, limits.maxCallBytes);
      if (encoded.ok) send({ t: "reply", id, ok: true, json: encoded.json });
      else if (encoded.problem === "bytes") stop("maxCallBytes", `the answer of ${tool}`);
      else send({ t: "reply", id, ok: false, message: tooDeep(tool) });
    };
    const handle = (message: FromWorker) => {
      const broke = breach(message, used, limits);
      if (broke) return stop(broke.limit, broke.detail);
      switch (message.t) {
        case "call": {
          if (message.tool.length > MAX_TOOL_NAME)
            return send({ t: "reply", id: message.id, ok: false, message: nameTooLong(message.tool) });
          const { id, site } = message;
          const enter = (job: NestedJob) =>
            new Promise<unknown>((resolve, reject) => {
              if (settled || stopped) return reject(new Error("the run ended"));
              nested.set(id, { resolve, reject });
              const inputJson = JSON.stringify(job.input ?? null);
              send({ t: "enter", id, skill: job.skill, code: job.code, inputJson, replay: job.replay });
            });
          const args = parseWithin(message.argsJson, "call arguments");
          const answered = hooks.call(message.tool, args, { id, site, enter });
          answered.then(
            (value) => guard(() => reply(message.id, message.tool, value)),
            (error: unknown) => send({ t: "reply", id: message.id, ok: false, message: errorMessage(error) }),
          );
          return;
        }
        case "step":
          return hooks.onStep({ ...message, value: parseWithin(message.json, "a step value") });
        case "returned": {
          const waiting = nested.get(message.id);
          nested.delete(message.id);
          if (!waiting) return;
          if (message.ok) return waiting.resolve(parseWithin(message.json, "a nested skill's result"));
          return waiting.reject(new NestedFailure(message.message, message.step));
        }
        case "log":
          return hooks.onLog(message.text);
        case "done":
          // However the worker ended the run (done before it saw the stop, or interrupted), the budget broke.
          if (stopped) return settle(failure({ ...stopped, ...stepOf(message) }), message.recycle);
          return settle(
            message.ok
              ? { ok: true, result: parseWithin(message.json, "the result") }
              : failure(message.error),
            message.recycle,
          );
      }
    };
    /** Runs host work for this run; what throws fails this run alone and replaces its worker. */
    const guard = (work: () => void) => {
      try {
        work();
      } catch (error) {
        const message = `The sandbox could not take what the run sent (${errorMessage(error)}); the run was stopped.`;
        settle(failure({ message }), true);
      }
    };
    slot.onExit = (reason) => settle(failure({ message: reason }), true);
    slot.onMessage = (message) => {
      // Once stopped, only the worker's own end of the run still counts (it names the step that was open).
      if (stopped && message.t !== "done") return;
      guard(() => handle(message));
    };
    send({
      t: "run",
      code: job.code,
      inputJson: JSON.stringify(job.input ?? null),
      limits,
      replay: job.replay,
    });
  }

  return {
    warm,
    async run(job, hooks) {
      const slot = await acquire();
      return new Promise<SandboxOutcome>((resolve) => runOn(slot, job, hooks, resolve));
    },

    async compile(code) {
      const slot = await acquire();
      return new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => {
          replace(slot);
          resolve(`the module did not finish loading within ${COMPILE_TIMEOUT_MS} ms`);
        }, COMPILE_TIMEOUT_MS + GRACE_MS);
        slot.onExit = (reason) => {
          clearTimeout(timer);
          replace(slot);
          resolve(reason);
        };
        slot.onMessage = (message) => {
          if (message.t !== "compiled") return;
          clearTimeout(timer);
          if (message.recycle) replace(slot);
          else release(slot);
          resolve(message.ok ? undefined : (message.message ?? "the module could not be loaded"));
        };
        slot.worker.postMessage({ t: "compile", code, timeoutMs: COMPILE_TIMEOUT_MS } satisfies ToWorker);
      });
    },

    stats: () => ({ size, workers: all.size, queued: queue.length }),

    async close() {
      closed = true;
      await Promise.all([...all].map((slot) => slot.worker.terminate()));
      all.clear();
    },
  };
}
