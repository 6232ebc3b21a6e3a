/**
 * A sandbox worker: runs one skill at a time in a fresh QuickJS runtime (WebAssembly), with no Node API
 * reachable from inside. The skill's only way out is `call`, which becomes a message to the gateway;
 * answers come back as messages and resolve QuickJS promises, so concurrent calls really overlap.
 */
import { parentPort } from "node:worker_threads";
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSRuntime,
  RELEASE_SYNC,
} from "quickjs-emscripten";
import type { FromWorker, LimitName, ReplayStep, RunFailure, RunLimits, ToWorker } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("the sandbox worker must run in a worker thread");
const post = (message: FromWorker) => port.postMessage(message);

/** Runs inside QuickJS before the skill: builds the { call, step, parallel, log } context from private host functions. */
const PRELUDE = `(() => {
  const hostCall = globalThis.__hostCall, stepBegin = globalThis.__stepBegin;
  const stepEnd = globalThis.__stepEnd, hostLog = globalThis.__hostLog;
  delete globalThis.__hostCall; delete globalThis.__stepBegin; delete globalThis.__stepEnd; delete globalThis.__hostLog;
  const toJson = (v) => { const s = JSON.stringify(v); return s === undefined ? "null" : s; };
  const call = async (tool, args) => {
    if (typeof tool !== "string") throw new TypeError('call(tool, args): tool must be a string such as "server.tool"');
    return JSON.parse(await hostCall(tool, toJson(args === undefined ? {} : args)));
  };
  const step = async (label, fn) => {
    if (typeof fn !== "function") throw new TypeError("step(label, fn): fn must be a function");
    const begun = JSON.parse(stepBegin(String(label)));
    if (begun.replay) return begun.value;
    const value = await fn();
    stepEnd(begun.index, toJson(value));
    return value;
  };
  const parallel = async (items, fn, options) => {
    const list = Array.from(items);
    const bound = options && options.concurrency !== undefined ? Math.floor(options.concurrency) : 16;
    const limit = Math.max(1, Math.min(bound, list.length));
    const results = new Array(list.length);
    let next = 0;
    const lane = async () => { while (next < list.length) { const i = next++; results[i] = await fn(list[i], i); } };
    await Promise.all(Array.from({ length: limit }, lane));
    return results;
  };
  const log = (...parts) => hostLog(parts.map((p) => (typeof p === "string" ? p : toJson(p))).join(" "));
  const context = Object.freeze({ call, step, parallel, log });
  globalThis.__start = async (run, inputJson) => toJson(await run(JSON.parse(inputJson), context));
})();`;

const SHAPE_HINT =
  "a skill is `export default async function run(input, { call, step, parallel, log }) { … }`";

const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);

function describeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  const dumped: unknown = vm.dump(handle);
  if (dumped && typeof dumped === "object" && "message" in dumped) {
    const e = dumped as { name?: string; message: string; stack?: string };
    const where = e.stack
      ?.split("\n")
      .map((l) => l.trim())
      .find((l) => l.includes("skill.js"));
    return `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}${where ? ` (${where})` : ""}`;
  }
  return typeof dumped === "string" ? dumped : JSON.stringify(dumped);
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
}

function openSession(memoryBytes: number, deadline: number): Session {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(memoryBytes);
  runtime.setMaxStackSize(1024 * 1024);
  const session: Session = { runtime, vm: runtime.newContext() };
  runtime.setInterruptHandler(() => session.stopped !== undefined || Date.now() > deadline);
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
function loadSkill(session: Session, code: string): QuickJSHandle {
  const { vm, runtime } = session;
  const evaluated = vm.evalCode(code, "skill.js", { type: "module", strict: true });
  if (evaluated.error) {
    const message = describeError(vm, evaluated.error);
    evaluated.error.dispose();
    throw new Error(message);
  }
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
    if (settled.type === "rejected") {
      const message = describeError(vm, settled.error);
      settled.error.dispose();
      throw new Error(message);
    }
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

let active: { deliver(message: ToWorker): void } | undefined;

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

function run(code: string, inputJson: string, limits: RunLimits, replay: ReplayStep[]): void {
  const deadline = Date.now() + limits.timeoutMs;
  const session = openSession(limits.memoryBytes, deadline);
  // By index, not position: steps run in parallel may complete out of order, leaving gaps in the record.
  const recordedSteps = new Map(replay.map((r) => [r.index, r]));
  const { vm, runtime } = session;
  const handles: QuickJSHandle[] = [];
  const pending = new Map<number, QuickJSDeferredPromise>();
  const openSteps = new Map<number, { label: string; started: number }>();
  let nextCall = 0;
  let nextStep = 0;
  let calls = 0;
  let diverged: string | undefined;
  let finished = false;
  let result: QuickJSHandle | undefined;

  const failedStep = (): RunFailure["step"] => {
    const [index, open] = [...openSteps.entries()].sort(([a], [b]) => a - b)[0] ?? [];
    return index === undefined || !open ? undefined : { index, label: open.label };
  };

  const timer = setTimeout(() => stop("timeoutMs"), Math.max(0, deadline - Date.now()));

  function finish(outcome: { ok: true; json: string } | { ok: false; error: RunFailure }): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    active = undefined;
    const recycle = !closeSession(session, [...handles, ...pending.values()]);
    post({ t: "done", ...outcome, recycle });
  }

  function limitFailure(limit: LimitName): RunFailure {
    const said: Record<LimitName, string> = {
      timeoutMs: `the run took longer than its time limit of ${limits.timeoutMs} ms`,
      memoryBytes: `the run used more than its memory limit of ${Math.round(limits.memoryBytes / 1048576)} MB`,
      maxCalls: `the run made more than its limit of ${limits.maxCalls} tool calls`,
      maxResultBytes: `the result is larger than its limit of ${limits.maxResultBytes} bytes`,
    };
    const step = failedStep();
    return { message: `Limit ${limit} exceeded: ${said[limit]}.`, limit, ...(step && { step }) };
  }

  function stop(limit: LimitName): void {
    session.stopped = limit;
    finish({ ok: false, error: limitFailure(limit) });
  }

  function fail(message: string) {
    const limit = session.stopped ?? limitOf(message);
    if (limit) return finish({ ok: false, error: limitFailure(limit) });
    const step = failedStep();
    finish({
      ok: false,
      error: { message: diverged ?? message, ...(step && { step }), ...(diverged && { diverged: true }) },
    });
  }

  /** Runs QuickJS's queued jobs, then looks whether the run has settled. */
  function pump() {
    if (finished || !result) return;
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      const message = describeError(vm, jobs.error);
      jobs.error.dispose();
      return fail(message);
    }
    const state = vm.getPromiseState(result);
    if (state.type === "fulfilled") {
      const json = vm.getString(state.value);
      state.value.dispose();
      if (Buffer.byteLength(json) > limits.maxResultBytes) return stop("maxResultBytes");
      return finish({ ok: true, json });
    }
    if (state.type === "rejected") {
      const message = describeError(vm, state.error);
      state.error.dispose();
      return fail(message);
    }
    if (pending.size === 0) {
      fail("the skill is waiting for a promise that nothing will settle (every call has answered)");
    }
  }

  const define = (name: string, fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const handle = vm.newFunction(name, fn);
    vm.setProp(vm.global, name, handle);
    handle.dispose();
  };

  define("__hostCall", (toolH, argsH) => {
    if (++calls > limits.maxCalls) {
      session.stopped = "maxCalls";
      throw new Error(limitFailure("maxCalls").message);
    }
    const id = nextCall++;
    const deferred = vm.newPromise();
    pending.set(id, deferred);
    post({
      t: "call",
      id,
      tool: vm.getString(toolH as QuickJSHandle),
      argsJson: vm.getString(argsH as QuickJSHandle),
    });
    return deferred.handle;
  });
  define("__stepBegin", (labelH) => {
    const label = vm.getString(labelH as QuickJSHandle);
    const index = nextStep++;
    const recorded = recordedSteps.get(index);
    if (recorded) {
      if (recorded.label !== label) {
        diverged =
          `Cannot resume: step ${index} is "${label}" in the code but "${recorded.label}" in the run record. ` +
          "Resume only replays the same steps in the same order; start a new run instead.";
        throw new Error(diverged);
      }
      post({ t: "step", index, label, json: recorded.json, ms: 0, replayed: true });
      return vm.newString(`{"replay":true,"value":${recorded.json}}`);
    }
    openSteps.set(index, { label, started: performance.now() });
    return vm.newString(`{"replay":false,"index":${index}}`);
  });
  define("__stepEnd", (indexH, jsonH) => {
    const index = vm.getNumber(indexH as QuickJSHandle);
    const open = openSteps.get(index);
    if (!open) return undefined;
    openSteps.delete(index);
    const ms = Math.round(performance.now() - open.started);
    post({
      t: "step",
      index,
      label: open.label,
      json: vm.getString(jsonH as QuickJSHandle),
      ms,
      replayed: false,
    });
    return undefined;
  });
  define("__hostLog", (textH) => {
    post({ t: "log", text: vm.getString(textH as QuickJSHandle) });
    return undefined;
  });

  active = {
    deliver(message) {
      if (message.t === "abort") return stop(message.limit);
      if (message.t !== "reply") return;
      const deferred = pending.get(message.id);
      if (!deferred || finished) return;
      pending.delete(message.id);
      if (message.ok) {
        const value = vm.newString(message.json);
        deferred.resolve(value);
        value.dispose();
      } else {
        const error = vm.newError(message.message);
        deferred.reject(error);
        error.dispose();
      }
      deferred.dispose();
      pump();
    },
  };

  try {
    const prelude = vm.evalCode(PRELUDE, "prelude.js");
    if (prelude.error) throw new Error(describeError(vm, prelude.error));
    prelude.value.dispose();
    const fn = loadSkill(session, code);
    handles.push(fn);
    const start = vm.getProp(vm.global, "__start");
    handles.push(start);
    const input = vm.newString(inputJson);
    handles.push(input);
    const called = vm.callFunction(start, vm.undefined, fn, input);
    if (called.error) {
      const message = describeError(vm, called.error);
      called.error.dispose();
      fail(message);
    } else {
      result = called.value;
      handles.push(result);
      pump();
    }
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "run":
      run(message.code, message.inputJson, message.limits, message.replay);
      break;
    case "compile":
      compile(message.code, message.timeoutMs);
      break;
    default:
      active?.deliver(message);
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
post({ t: "ready" });
