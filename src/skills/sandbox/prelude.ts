/**
 * The code QuickJS runs before a skill: it builds the skill's { call, step, parallel, log } context from private
 * host functions. It is written here, not in a string, so that it is linted and type-checked; QuickJS evaluates
 * its source text, so `installSkillContext` must use nothing from outside its own body.
 */

/** What the worker defines on QuickJS's globalThis for the prelude to take away (JSON crosses as text). */
interface HostFunctions {
  /** `step`: the caller's step whose function is running synchronously, else -1 (the worker then picks one). */
  __hostCall?: (frame: number, tool: string, argsJson: string, step: number) => Promise<string>;
  /** `parent`: the step whose function is running synchronously, else -1. */
  __stepBegin?: (frame: number, label: string, parent: number) => string;
  __stepEnd?: (frame: number, index: number, json: string) => void;
  __hostLog?: (text: string) => void;
}

/** `__stepBegin`'s answer: the recorded value of a step being replayed, or the index of a step to run. */
type Begun = { replay: true; value: unknown } | { replay: false; index: number };

interface SkillContext {
  call(tool: string, args?: unknown): Promise<unknown>;
  step<T>(label: string, fn: () => T | Promise<T>): Promise<T>;
  parallel<T, R>(
    items: Iterable<T>,
    fn: (item: T, index: number) => R | Promise<R>,
    options?: { concurrency?: number },
  ): Promise<R[]>;
  log(...parts: unknown[]): void;
}

type Skill = (input: unknown, context: SkillContext) => unknown;

/**
 * Runs a skill on its input (JSON text) as a frame of the run (the run's own code, or a saved skill it called) and
 * resolves to its result (JSON text). Every frame gets a context of its own; they share this one prelude.
 */
type Start = (run: Skill, inputJson: string, frame: number) => Promise<string>;

function installSkillContext(): Start {
  const host = globalThis as typeof globalThis & HostFunctions;
  // The worker defines all four before the prelude runs; deleting them leaves the skill no way to the host but `context`.
  const take = <K extends keyof HostFunctions>(name: K): NonNullable<HostFunctions[K]> => {
    const fn = host[name];
    delete host[name];
    return fn as NonNullable<HostFunctions[K]>;
  };
  const hostCall = take("__hostCall");
  const stepBegin = take("__stepBegin");
  const stepEnd = take("__stepEnd");
  const hostLog = take("__hostLog");

  // Taken now, before the skill's module runs: a skill that replaces JSON.stringify or JSON.parse changes what it
  // sees, never the text that crosses to the host.
  const { stringify, parse } = JSON;
  const toJson = (value: unknown): string => {
    const text: string | undefined = stringify(value);
    return text === undefined ? "null" : text;
  };

  const parallel: SkillContext["parallel"] = async (items, fn, options) => {
    const list = Array.from(items);
    const bound = options?.concurrency !== undefined ? Math.floor(options.concurrency) : 16;
    const limit = Math.max(1, Math.min(bound, list.length));
    const results = new Array(list.length);
    let next = 0;
    const lane = async () => {
      while (next < list.length) {
        const i = next++;
        results[i] = await fn(list[i] as (typeof list)[number], i);
      }
    };
    await Promise.all(Array.from({ length: limit }, lane));
    return results;
  };

  const log: SkillContext["log"] = (...parts) =>
    hostLog(parts.map((part) => (typeof part === "string" ? part : toJson(part))).join(" "));

  const contextOf = (frame: number): SkillContext => {
    // The step whose function is running synchronously now: a call made there belongs to it (QuickJS has no
    // async context to follow it past an await; the worker then takes the frame's latest open step).
    let current = -1;

    // Skills are plain JavaScript: the checks below are for callers that ignore the types.
    const call: SkillContext["call"] = async (tool, args) => {
      if (typeof tool !== "string")
        throw new TypeError('call(tool, args): tool must be a string such as "server.tool" or "skill-name"');
      return parse(await hostCall(frame, tool, toJson(args === undefined ? {} : args), current));
    };

    const step: SkillContext["step"] = async (label, fn) => {
      if (typeof fn !== "function") throw new TypeError("step(label, fn): fn must be a function");
      const begun: Begun = parse(stepBegin(frame, String(label), current));
      if (begun.replay) return begun.value as Awaited<ReturnType<typeof fn>>;
      const outer = current;
      current = begun.index;
      let pending: ReturnType<typeof fn>;
      try {
        pending = fn();
      } finally {
        current = outer;
      }
      const value = await pending;
      stepEnd(frame, begun.index, toJson(value));
      return value;
    };

    return Object.freeze({ call, step, parallel, log });
  };

  return async (run, inputJson, frame) => toJson(await run(parse(inputJson), contextOf(frame)));
}

/**
 * The prelude as QuickJS evaluates it: a script whose value is the start function. The worker keeps it as a
 * handle, so nothing of the host is left on globalThis. tsx (esbuild's keepNames) wraps named functions in
 * `__name(fn, "name")`, a helper of the module's scope; a do-nothing local `__name` lets the same text run
 * from src/ (tsx) and from dist/ (tsc, which adds nothing).
 */
export const PRELUDE = `((__name) => (${installSkillContext.toString()})())((fn) => fn);`;
