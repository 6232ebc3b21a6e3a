/**
 * A sandbox worker: runs one skill at a time in a fresh QuickJS runtime (WebAssembly), with no Node API
 * reachable from inside. The skill's only way out is `call`, which becomes a message to the gateway;
 * answers come back as messages and resolve QuickJS promises, so concurrent calls really overlap.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSRuntime,
  RELEASE_SYNC,
} from "quickjs-emscripten";
import { limitMessage } from "./limits.js";
import { PRELUDE } from "./prelude.js";
import {
  type CallSite,
  type FromWorker,
  type LimitName,
  type ReplayStep,
  type RunFailure,
  type RunLimits,
  TOP_FRAME,
  type ToWorker,
} from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("the sandbox worker must run in a worker thread");
const post = (message: FromWorker) => port.postMessage(message);
/** Set by the host to stop the run now, even while the skill runs without yielding (it then ends the run itself). */
const halt = (workerData as { halt: Int32Array }).halt;

const SHAPE_HINT =
  "a skill is `export default async function run(input, { call, step, parallel, log }) { … }`";

const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);

function describeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  const dumped: unknown = vm.dump(handle);
  if (dumped && typeof dumped === "object" && "message" in dumped) {
    const e = dumped as { name?: string; message: string; stack?: string };
    // The run's module is skill.js, a nested skill's <name>.skill.js.
    const where = e.stack
      ?.split("\n")
      .map((l) => l.trim())
      .find((l) => l.includes("skill.js"));
    return `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}${where ? ` (${where})` : ""}`;
  }
  return typeof dumped === "string" ? dumped : JSON.stringify(dumped);
}

/** Describes an error and frees its handle. */
function takeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  const message = describeError(vm, handle);
  handle.dispose();
  return message;
}

function limitOf(message: string): LimitName | undefined {
  if (/out of memory/i.test(message)) return "memoryBytes";
  if (/interrupted/i.test(message)) return "timeoutMs";
  return undefined;
}

interface Session {
  runtime: QuickJSRuntime;
  vm: QuickJSContext;
  /** Set to stop the run at the next interrupt check. */
  stopped?: LimitName;
  deadline: number;
  /** False while a spare session is set up for a run to come: nothing of a run may interrupt that. */
  live: boolean;
}

function openSession(memoryBytes: number, deadline: number, live = true): Session {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(memoryBytes);
  runtime.setMaxStackSize(1024 * 1024);
  const session: Session = { runtime, vm: runtime.newContext(), deadline, live };
  runtime.setInterruptHandler(
    () =>
      session.live &&
      (session.stopped !== undefined || Date.now() > session.deadline || Atomics.load(halt, 0) !== 0),
  );
  return session;
}

/** Frees a session; returns false when QuickJS could not free it cleanly (the worker should be replaced). */
function closeSession(session: Session, owned: Array<{ alive: boolean; dispose(): void }>): boolean {
  try {
    for (const h of owned) if (h.alive) h.dispose();
    session.vm.dispose();
    session.runtime.dispose();
    return true;
  } catch {
    return false;
  }
}

/** Evaluates the skill module and returns its default export, or throws a message saying what is wrong. */
function loadSkill(session: Session, code: string, file = "skill.js"): QuickJSHandle {
  const { vm, runtime } = session;
  const evaluated = vm.evalCode(code, file, { type: "module", strict: true });
  if (evaluated.error) throw new Error(takeError(vm, evaluated.error));
  const state = vm.getPromiseState(evaluated.value);
  let exports = evaluated.value;
  if (!(state.type === "fulfilled" && state.notAPromise)) {
    // A module with top-level await evaluates to a promise of its exports.
    if (state.type === "fulfilled") state.value.dispose();
    if (state.type === "rejected") state.error.dispose();
    const jobs = runtime.executePendingJobs();
    if (jobs.error) jobs.error.dispose();
    const settled = vm.getPromiseState(evaluated.value);
    evaluated.value.dispose();
    if (settled.type === "rejected") throw new Error(takeError(vm, settled.error));
    if (settled.type !== "fulfilled")
      throw new Error("the module's top-level await never settled; move the work into run()");
    exports = settled.value;
  }
  const fn = vm.getProp(exports, "default");
  exports.dispose();
  if (vm.typeof(fn) !== "function") {
    fn.dispose();
    throw new Error(`the module has no default export function: ${SHAPE_HINT}`);
  }
  return fn;
}

function compile(code: string, timeoutMs: number): void {
  const session = openSession(64 * 1024 * 1024, Date.now() + timeoutMs);
  let fn: QuickJSHandle | undefined;
  let message: string | undefined;
  try {
    fn = loadSkill(session, code);
  } catch (error) {
    message = error instanceof Error ? error.message : String(error);
  }
  const recycle = !closeSession(session, fn ? [fn] : []);
  post(
    message === undefined
      ? { t: "compiled", ok: true, recycle }
      : { t: "compiled", ok: false, message, recycle },
  );
}

/**
 * One skill running in the run: the run's own code (TOP_FRAME), or a saved skill it called, numbered by that call.
 * Each numbers and replays its own steps; all share the run's runtime, so memory, time and calls are one budget.
 */
interface Frame {
  id: number;
  /** The nested skill's name (none for the run's own code). */
  skill?: string;
  /** By index, not position: steps run in parallel may complete out of order, leaving gaps in the record. */
  recorded: Map<number, ReplayStep>;
  openSteps: Map<number, { label: string; started: number; parent?: number }>;
  nextStep: number;
  /** Recorded steps begun inside a step that was replayed whole: their numbers are not given out again. */
  skipped: Set<number>;
  /** Each step begun in this run (live or replayed) and the step it was begun in. */
  parents: Map<number, number | undefined>;
  /** The skill's promise of its JSON result, once started. */
  result?: QuickJSHandle;
}

/** The run in progress: its QuickJS session and the state its host functions share. */
interface Run {
  session: Session;
  limits: RunLimits;
  /** The frames still running, TOP_FRAME first. */
  frames: Map<number, Frame>;
  /** The prelude's start function. */
  start?: QuickJSHandle;
  /** A nested skill's default export, by its code: loaded once per run, like an imported module. */
  modules: Map<string, QuickJSHandle>;
  /** Freed with the session. */
  handles: QuickJSHandle[];
  /** Calls waiting for their answer, by id: from the gateway, or from a nested skill's frame. */
  pending: Map<number, QuickJSDeferredPromise>;
  /** Where each pending call was made: its answer's continuations run there (see `ambient`). */
  sites: Map<number, CallSite>;
  /**
   * While the jobs an answer set off run (one pump drains the queue, so they are all its consequences): the site
   * of the call answered. A call made there, after an await, belongs to the same step.
   */
  ambient?: CallSite;
  nextCall: number;
  calls: number;
  /** Set when a resumed run's steps stopped matching the record: the message the run fails with. */
  diverged?: string;
  finished: boolean;
  timer?: NodeJS.Timeout;
}

const newFrame = (id: number, replay: ReplayStep[]): Frame => ({
  id,
  recorded: new Map(replay.map((r) => [r.index, r])),
  openSteps: new Map(),
  nextStep: 0,
  skipped: new Set(),
  parents: new Map(),
});

/** A worker runs one skill at a time: the run that gateway replies are for. */
let active: Run | undefined;

/** A fresh runtime and context with the host functions and the prelude in place, waiting for the next run. */
interface Spare {
  session: Session;
  /** The prelude's start function (see prelude.ts). */
  start: QuickJSHandle;
}

/**
 * Set up between runs, so that a run does not wait for a runtime, a context and the prelude: every run still gets
 * its own fresh runtime (nothing of one run can reach the next), only sooner.
 */
let spare: Spare | undefined;

function prepareSpare(): Spare {
  // The limits are the run's own, set when it takes the session; until then none of its budgets apply.
  const session = openSession(-1, Number.POSITIVE_INFINITY, false);
  try {
    defineHostFunctions(session.vm);
    return { session, start: evaluatePrelude(session.vm) };
  } catch (error) {
    closeSession(session, []);
    throw error;
  }
}

/** Prepares the next run's session once the worker is idle; a failure here only means the run prepares its own. */
function prepareSpareSoon(): void {
  setImmediate(() => {
    if (spare || active) return;
    try {
      spare = prepareSpare();
    } catch {
      spare = undefined;
    }
  });
}

function startRun(code: string, inputJson: string, limits: RunLimits, replay: ReplayStep[]): void {
  const deadline = Date.now() + limits.timeoutMs;
  const { session, start } = spare ?? prepareSpare();
  spare = undefined;
  session.runtime.setMemoryLimit(limits.memoryBytes);
  session.deadline = deadline;
  session.live = true;
  const run: Run = {
    session,
    start,
    limits,
    frames: new Map([[TOP_FRAME, newFrame(TOP_FRAME, replay)]]),
    modules: new Map(),
    handles: [],
    pending: new Map(),
    sites: new Map(),
    nextCall: 0,
    calls: 0,
    finished: false,
  };
  active = run;
  run.handles.push(start);
  run.timer = setTimeout(() => stop(run, "timeoutMs"), Math.max(0, deadline - Date.now()));
  startSkill(run, code, inputJson);
}

/** The first of a frame's steps still open: the one to name when it fails (the run's own frame for the run). */
function failedStep(frame: Frame | undefined): RunFailure["step"] {
  const [index, open] = [...(frame?.openSteps.entries() ?? [])].sort(([a], [b]) => a - b)[0] ?? [];
  return index === undefined || !open ? undefined : { index, label: open.label };
}

function finish(run: Run, outcome: { ok: true; json: string } | { ok: false; error: RunFailure }): void {
  if (run.finished) return;
  run.finished = true;
  clearTimeout(run.timer);
  active = undefined;
  const recycle = !closeSession(run.session, [...run.handles, ...run.pending.values()]);
  post({ t: "done", ...outcome, recycle });
  if (!recycle) prepareSpareSoon();
}

function limitFailure(run: Run, limit: LimitName): RunFailure {
  return withStep(run, { message: limitMessage(limit, run.limits), limit });
}

/** The failure, naming the step that was open when it happened. */
function withStep(run: Run, error: RunFailure): RunFailure {
  const step = failedStep(run.frames.get(TOP_FRAME));
  return { ...error, ...(step && { step }) };
}

function stop(run: Run, limit: LimitName): void {
  run.session.stopped = limit;
  finish(run, { ok: false, error: limitFailure(run, limit) });
}

/** The host stopped the run on a budget it keeps. */
function stopByHost(run: Run, error: RunFailure): void {
  finish(run, { ok: false, error: withStep(run, error) });
}

function fail(run: Run, message: string): void {
  const limit = run.session.stopped ?? limitOf(message);
  const error = limit ? limitFailure(run, limit) : withStep(run, { message: run.diverged ?? message });
  finish(run, { ok: false, error });
}

/** Runs QuickJS's queued jobs, then looks whether nested skills or the run have settled. */
function pump(run: Run): void {
  const top = run.frames.get(TOP_FRAME);
  if (run.finished || !top?.result) return;
  const { vm, runtime } = run.session;
  const jobs = runtime.executePendingJobs();
  if (jobs.error) {
    fail(run, takeError(vm, jobs.error));
    return;
  }
  for (const frame of run.frames.values()) if (frame.id !== TOP_FRAME) checkReturned(run, frame);
  checkSettled(run, top.result);
}

/** A nested skill whose promise settled answers the call that entered it, through the gateway (which records it). */
function checkReturned(run: Run, frame: Frame): void {
  if (!frame.result) return;
  const { vm } = run.session;
  const state = vm.getPromiseState(frame.result);
  if (state.type === "pending") return;
  run.frames.delete(frame.id);
  if (state.type === "fulfilled") {
    const json = vm.getString(state.value);
    state.value.dispose();
    post({ t: "returned", id: frame.id, ok: true, json });
  } else {
    const message = run.diverged ?? takeError(vm, state.error);
    const step = failedStep(frame);
    post({ t: "returned", id: frame.id, ok: false, message, ...(step && { step }) });
  }
}

/** Ends the run when the skill's promise has settled, or when nothing is left that could settle it. */
function checkSettled(run: Run, result: QuickJSHandle): void {
  const { vm } = run.session;
  const state = vm.getPromiseState(result);
  if (state.type === "fulfilled") {
    const json = vm.getString(state.value);
    state.value.dispose();
    if (Buffer.byteLength(json) > run.limits.maxResultBytes) stop(run, "maxResultBytes");
    else finish(run, { ok: true, json });
  } else if (state.type === "rejected") {
    fail(run, takeError(vm, state.error));
  } else if (![...run.pending.keys()].some((id) => !run.frames.has(id))) {
    // Every call has answered but those of nested skills still running here: none of those can settle either.
    fail(run, "the skill is waiting for a promise that nothing will settle (every call has answered)");
  }
}

/** The run a host function was called by: a session's functions are only ever called while its run is active. */
function current(): Run {
  if (!active) throw new Error("no run is active in this sandbox");
  return active;
}

/** Defines the functions the prelude takes away from globalThis (see prelude.ts); they act for the active run. */
function defineHostFunctions(vm: QuickJSContext): void {
  const define = (name: string, fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const handle = vm.newFunction(name, fn);
    vm.setProp(vm.global, name, handle);
    handle.dispose();
  };
  const frameOf = (run: Run, handle: QuickJSHandle) => run.frames.get(vm.getNumber(handle));
  define("__hostCall", (frame, tool, args, step) => {
    const run = current();
    return hostCall(run, frameOf(run, frame), tool, args, vm.getNumber(step));
  });
  define("__stepBegin", (frame, label, parent) => {
    const run = current();
    return vm.newString(stepBegin(run, frameOf(run, frame), vm.getString(label), vm.getNumber(parent)));
  });
  define("__stepEnd", (frame, index, json) => {
    const run = current();
    stepEnd(run, frameOf(run, frame), vm.getNumber(index), json);
    return undefined;
  });
  define("__hostLog", (text) => {
    current();
    post({ t: "log", text: vm.getString(text) });
    return undefined;
  });
}

/** A frame that already returned (a nested skill's code still running after its result) acts for no one. */
function frameGone(): Error {
  return new Error("this skill has already returned; a call or step after its result is not made");
}

/**
 * The step a call belongs to: the one whose function is running synchronously (`sync`, from the prelude); else,
 * after an await, the step of the call whose answer is being handled (`run.ambient`); else the frame's latest
 * open step; else none.
 */
function siteOf(run: Run, frame: Frame, sync: number): CallSite {
  let index = sync;
  const ambient = run.ambient?.frame === frame.id ? run.ambient.step?.index : undefined;
  if (!frame.openSteps.has(index) && ambient !== undefined) index = ambient;
  if (!frame.openSteps.has(index)) for (const open of frame.openSteps.keys()) index = Math.max(index, open);
  const open = frame.openSteps.get(index);
  return { frame: frame.id, ...(open && { step: { index, label: open.label } }) };
}

/** Sends a call (of a tool or a skill) to the gateway; returns the promise its answer settles. */
function hostCall(
  run: Run,
  frame: Frame | undefined,
  tool: QuickJSHandle,
  args: QuickJSHandle,
  sync: number,
): QuickJSHandle {
  const { vm } = run.session;
  if (!frame) throw frameGone();
  if (++run.calls > run.limits.maxCalls) {
    run.session.stopped = "maxCalls";
    throw new Error(limitFailure(run, "maxCalls").message);
  }
  const id = run.nextCall++;
  const deferred = vm.newPromise();
  run.pending.set(id, deferred);
  const site = siteOf(run, frame, sync);
  run.sites.set(id, site);
  post({ t: "call", id, tool: vm.getString(tool), argsJson: vm.getString(args), site });
  return deferred.handle;
}

/**
 * Opens the frame's next step, or replays it from the record; answers JSON text (see `Begun` in prelude.ts).
 * `sync`: the step whose function is running synchronously (from the prelude), else -1.
 */
function stepBegin(run: Run, frame: Frame | undefined, label: string, sync: number): string {
  if (!frame) throw frameGone();
  let index = frame.nextStep++;
  while (frame.skipped.has(index)) index = frame.nextStep++;
  const recorded = frame.recorded.get(index);
  if (!recorded) {
    const parent = parentOf(run, frame, sync);
    frame.parents.set(index, parent);
    frame.openSteps.set(index, {
      label,
      started: performance.now(),
      ...(parent !== undefined && { parent }),
    });
    return `{"replay":false,"index":${index}}`;
  }
  if (recorded.label !== label) {
    const where = frame.skill === undefined ? "" : ` of nested skill "${frame.skill}"`;
    run.diverged =
      `Cannot resume: step ${index}${where} is "${label}" in the code but "${recorded.label}" in the run record. ` +
      "Resume only replays the same steps in the same order; start a new run instead.";
    throw new Error(run.diverged);
  }
  postReplayed(frame, recorded);
  // Its function is not called again, so the steps it began are not begun again: they keep their record.
  for (const inner of descendantsOf(frame, index)) {
    frame.skipped.add(inner.index);
    postReplayed(frame, inner);
  }
  return `{"replay":true,"value":${recorded.json}}`;
}

function postReplayed(frame: Frame, step: ReplayStep): void {
  const { index, label, json, parent } = step;
  frame.parents.set(index, parent);
  post({
    t: "step",
    frame: frame.id,
    index,
    label,
    json,
    ms: 0,
    replayed: true,
    ...(parent !== undefined && { parent }),
  });
}

/**
 * The step a new step is begun in: the one whose function is running synchronously, else (after an await) the
 * step of the call whose answer is being handled, or the nearest step around it still open (its own step has
 * usually just completed). Unlike a call's site, never guessed from the open steps: a wrong parent would skip a
 * step on resume.
 */
function parentOf(run: Run, frame: Frame, sync: number): number | undefined {
  if (frame.openSteps.has(sync)) return sync;
  let at = run.ambient?.frame === frame.id ? run.ambient.step?.index : undefined;
  while (at !== undefined && !frame.openSteps.has(at)) at = frame.parents.get(at);
  return at;
}

/** The recorded steps begun, directly or not, inside step `index`. */
function descendantsOf(frame: Frame, index: number): ReplayStep[] {
  const inside = new Set([index]);
  const found: ReplayStep[] = [];
  // Steps are numbered as they begin, so a step's parent always has a lower number than the step.
  for (const step of [...frame.recorded.values()].sort((a, b) => a.index - b.index)) {
    if (step.parent !== undefined && inside.has(step.parent)) {
      inside.add(step.index);
      found.push(step);
    }
  }
  return found;
}

function stepEnd(run: Run, frame: Frame | undefined, index: number, json: QuickJSHandle): void {
  const open = frame?.openSteps.get(index);
  if (!frame || !open) return;
  frame.openSteps.delete(index);
  const ms = Math.round(performance.now() - open.started);
  const text = run.session.vm.getString(json);
  const { label, parent } = open;
  post({
    t: "step",
    frame: frame.id,
    index,
    label,
    json: text,
    ms,
    replayed: false,
    ...(parent !== undefined && { parent }),
  });
}

/** Calls the prelude's start function for a frame; returns the promise of its result (owned by the run). */
function startFrame(run: Run, frame: Frame, fn: QuickJSHandle, inputJson: string): QuickJSHandle {
  const { vm } = run.session;
  if (!run.start) throw new Error("the prelude is not loaded");
  const input = vm.newString(inputJson);
  const id = vm.newNumber(frame.id);
  const called = vm.callFunction(run.start, vm.undefined, fn, input, id);
  input.dispose();
  id.dispose();
  if (called.error) throw new Error(takeError(vm, called.error));
  run.handles.push(called.value);
  frame.result = called.value;
  return called.value;
}

/** Loads the skill and starts it through the prelude; the run goes on as the gateway replies to its calls. */
function startSkill(run: Run, code: string, inputJson: string): void {
  try {
    const fn = loadSkill(run.session, code);
    run.handles.push(fn);
    const top = run.frames.get(TOP_FRAME);
    if (top) startFrame(run, top, fn, inputJson);
    pump(run);
  } catch (error) {
    fail(run, error instanceof Error ? error.message : String(error));
  }
}

/**
 * Runs a saved skill the run called, in the same runtime: no second worker per level (a chain of nested calls
 * would need as many idle workers as it is deep), and one memory, time and call budget for the whole run.
 */
function enterSkill(run: Run, entry: Extract<ToWorker, { t: "enter" }>): void {
  if (run.finished || !run.pending.has(entry.id)) return;
  const frame: Frame = { ...newFrame(entry.id, entry.replay), skill: entry.skill };
  run.frames.set(entry.id, frame);
  try {
    let fn = run.modules.get(entry.code);
    if (!fn) {
      fn = loadSkill(run.session, entry.code, `${entry.skill}.skill.js`);
      run.handles.push(fn);
      run.modules.set(entry.code, fn);
    }
    startFrame(run, frame, fn, entry.inputJson);
  } catch (error) {
    run.frames.delete(entry.id);
    const message = error instanceof Error ? error.message : String(error);
    post({ t: "returned", id: entry.id, ok: false, message });
  }
  pump(run);
}

/** Returns the prelude's start function: a handle only the worker holds, never a global the skill could reach. */
function evaluatePrelude(vm: QuickJSContext): QuickJSHandle {
  const prelude = vm.evalCode(PRELUDE, "prelude.js");
  if (prelude.error) throw new Error(takeError(vm, prelude.error));
  return prelude.value;
}

/** Settles the promise of a tool call with the gateway's reply, then lets the skill go on. */
function deliverReply(run: Run, reply: Extract<ToWorker, { t: "reply" }>): void {
  const deferred = run.pending.get(reply.id);
  if (!deferred || run.finished) return;
  run.pending.delete(reply.id);
  const { vm } = run.session;
  if (reply.ok) {
    const value = vm.newString(reply.json);
    deferred.resolve(value);
    value.dispose();
  } else {
    const error = vm.newError(reply.message);
    deferred.reject(error);
    error.dispose();
  }
  deferred.dispose();
  run.ambient = run.sites.get(reply.id);
  run.sites.delete(reply.id);
  pump(run);
  run.ambient = undefined;
}

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "run":
      startRun(message.code, message.inputJson, message.limits, message.replay);
      break;
    case "compile":
      compile(message.code, message.timeoutMs);
      break;
    case "reply":
      if (active) deliverReply(active, message);
      break;
    case "enter":
      if (active) enterSkill(active, message);
      break;
    case "stop":
      if (active) stopByHost(active, message.error);
      break;
  }
});

/** One throwaway load before taking work, so a worker's first real run does not pay for warming up. */
function warmUp(): void {
  const session = openSession(16 * 1024 * 1024, Date.now() + 1000);
  try {
    const prelude = session.vm.evalCode(PRELUDE, "prelude.js");
    (prelude.error ?? prelude.value).dispose();
    loadSkill(
      session,
      "export default async function run(input, { step }) { return step('warm', () => input); }",
    ).dispose();
  } finally {
    closeSession(session, []);
  }
}

warmUp();
spare = prepareSpare();
post({ t: "ready" });
