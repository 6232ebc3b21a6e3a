import { Worker } from "node:worker_threads";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { FromWorker, ReplayStep, RunFailure, RunLimits, ToWorker } from "./protocol.js";

export interface SandboxHooks {
  /** A tool call from the skill; resolves to the value the skill sees, rejects with the message it sees. */
  call(tool: string, args: unknown): Promise<unknown>;
  onStep(step: { index: number; label: string; value: unknown; ms: number; replayed: boolean }): void;
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
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
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

export function createSandbox(options: { workers?: number; logger: Logger }): Sandbox {
  const size = Math.max(1, options.workers ?? 2);
  const { logger } = options;
  const idle: Slot[] = [];
  const all = new Set<Slot>();
  const queue: Array<(slot: Slot) => void> = [];
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(workerUrl());
    worker.unref();
    let markReady: () => void = () => {};
    const slot: Slot = { worker, ready: new Promise<void>((resolve) => (markReady = resolve)) };
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

  return {
    warm,
    async run(job, hooks) {
      const slot = await acquire();
      return new Promise<SandboxOutcome>((resolve) => {
        let settled = false;
        const settle = (outcome: SandboxOutcome, broken: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(backstop);
          if (broken) replace(slot);
          else release(slot);
          resolve(outcome);
        };
        const backstop = setTimeout(() => {
          settle(
            {
              ok: false,
              error: {
                message: `Limit timeoutMs exceeded: the run took longer than its time limit of ${job.limits.timeoutMs} ms (the worker was stopped).`,
                limit: "timeoutMs",
              },
            },
            true,
          );
        }, job.limits.timeoutMs + GRACE_MS);
        const send = (message: ToWorker) => {
          if (!settled) slot.worker.postMessage(message);
        };
        slot.onExit = (reason) => settle({ ok: false, error: { message: reason } }, true);
        slot.onMessage = (message) => {
          switch (message.t) {
            case "call":
              hooks.call(message.tool, JSON.parse(message.argsJson)).then(
                (value) =>
                  send({ t: "reply", id: message.id, ok: true, json: JSON.stringify(value ?? null) }),
                (error: unknown) =>
                  send({ t: "reply", id: message.id, ok: false, message: errorMessage(error) }),
              );
              break;
            case "step":
              hooks.onStep({ ...message, value: JSON.parse(message.json) });
              break;
            case "log":
              hooks.onLog(message.text);
              break;
            case "done":
              settle(
                message.ok
                  ? { ok: true, result: JSON.parse(message.json) }
                  : { ok: false, error: message.error },
                message.recycle,
              );
              break;
          }
        };
        send({
          t: "run",
          code: job.code,
          inputJson: JSON.stringify(job.input ?? null),
          limits: job.limits,
          replay: job.replay,
        });
      });
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

    async close() {
      closed = true;
      await Promise.all([...all].map((slot) => slot.worker.terminate()));
      all.clear();
    },
  };
}
