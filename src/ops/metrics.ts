import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** How a downstream call ended: an answer, an answer flagged `isError`, or no answer (timeout, server gone). */
export type CallOutcome = "ok" | "error" | "failed";
/** How a search, probe or run ended. */
export type Outcome = "ok" | "failed";

/** A downstream tool as the observer sees it: its catalog record, whose identity keys a cache of counters. */
export interface ObservedTool {
  readonly server: string;
  readonly tool: string;
}

/**
 * What the hot paths report to. Each method is a few arithmetic operations on counters bound once (per tool,
 * per outcome), so a report allocates nothing after the first of its kind. Durations are in milliseconds.
 */
export interface Observer {
  call(tool: ObservedTool, outcome: CallOutcome, ms: number): void;
  search(ms: number): void;
  probe(outcome: Outcome, ms: number): void;
  run(outcome: Outcome, ms: number): void;
  storeError(namespace: string): void;
}

export const noObserver: Observer = { call() {}, search() {}, probe() {}, run() {}, storeError() {} };

/** Values read when Prometheus scrapes, from the parts that own them. */
export interface MetricsSources {
  sandbox(): { size: number; workers: number; queued: number };
  sessions?(): number;
}

export interface Metrics {
  readonly observer: Observer;
  /** The HTTP server's session count, once it runs. */
  countSessions(source: () => number): void;
  contentType: string;
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>;
}

/** Seconds: most downstream calls take milliseconds, runs and slow tools take seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Bound = { inc(): void };
type Timer = { observe(value: number): void };

/**
 * Prometheus metrics of one gateway, in a registry of its own (several gateways may share a process in tests).
 * `processMetrics`: also the process's CPU, memory, event-loop lag and heap, from the first scrape on (a process
 * nobody scrapes, a stdio server say, does not pay for their event-loop monitor).
 */
export function createMetrics(sources: MetricsSources, { processMetrics = false } = {}): Metrics {
  const registry = new Registry();
  let processWatched = !processMetrics;
  let sessions = sources.sessions;

  const calls = new Counter({
    name: "skillsmith_tool_calls_total",
    help: "Downstream tool calls (probes and skills' calls) by server, tool and outcome (ok, error: the tool said isError, failed: no answer)",
    labelNames: ["server", "tool", "outcome"] as const,
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: "skillsmith_call_duration_seconds",
    help: "Time of one downstream tool call, by server",
    labelNames: ["server"] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: "skillsmith_operations_total",
    help: "search_tools, probe_tool and skill runs by outcome",
    labelNames: ["operation", "outcome"] as const,
    registers: [registry],
  });
  const seconds = (name: string, help: string) =>
    new Histogram({ name, help, buckets: BUCKETS, registers: [registry] });
  const searchSeconds = seconds("skillsmith_search_duration_seconds", "Time of one search_tools");
  const probeSeconds = seconds("skillsmith_probe_duration_seconds", "Time of one probe_tool, cached or not");
  const runSeconds = seconds("skillsmith_run_duration_seconds", "Time of one skill run, saved or ad hoc");
  const storeErrors = new Counter({
    name: "skillsmith_store_errors_total",
    help: "Store operations that failed (Redis down or slow, LMDB errors), by namespace",
    labelNames: ["namespace"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "skillsmith_sandbox_workers",
    help: "Sandbox worker threads started (at most skillsmith.sandbox.workers)",
    registers: [registry],
    collect() {
      this.set(sources.sandbox().workers);
    },
  });
  new Gauge({
    name: "skillsmith_sandbox_queue_depth",
    help: "Runs and compiles waiting for a free sandbox worker",
    registers: [registry],
    collect() {
      this.set(sources.sandbox().queued);
    },
  });
  new Gauge({
    name: "skillsmith_http_sessions",
    help: "Open Streamable HTTP sessions on this instance",
    registers: [registry],
    collect() {
      this.set(sessions?.() ?? 0);
    },
  });

  // Bound once: a report then looks up an object and adds a number.
  const searchOk = operations.labels("search", "ok");
  const probeBy = { ok: operations.labels("probe", "ok"), failed: operations.labels("probe", "failed") };
  const runBy = { ok: operations.labels("run", "ok"), failed: operations.labels("run", "failed") };
  const perTool = new WeakMap<ObservedTool, Record<CallOutcome, Bound> & { seconds: Timer }>();
  const perServer = new Map<string, Timer>();
  const perNamespace = new Map<string, Bound>();

  const observer: Observer = {
    call(tool, outcome, ms) {
      let bound = perTool.get(tool);
      if (!bound) {
        let timer = perServer.get(tool.server);
        if (!timer) {
          timer = callSeconds.labels(tool.server);
          perServer.set(tool.server, timer);
        }
        bound = {
          ok: calls.labels(tool.server, tool.tool, "ok"),
          error: calls.labels(tool.server, tool.tool, "error"),
          failed: calls.labels(tool.server, tool.tool, "failed"),
          seconds: timer,
        };
        perTool.set(tool, bound);
      }
      bound[outcome].inc();
      bound.seconds.observe(ms / 1000);
    },
    search(ms) {
      searchOk.inc();
      searchSeconds.observe(ms / 1000);
    },
    probe(outcome, ms) {
      probeBy[outcome].inc();
      probeSeconds.observe(ms / 1000);
    },
    run(outcome, ms) {
      runBy[outcome].inc();
      runSeconds.observe(ms / 1000);
    },
    storeError(namespace) {
      let bound = perNamespace.get(namespace);
      if (!bound) {
        bound = storeErrors.labels(namespace);
        perNamespace.set(namespace, bound);
      }
      bound.inc();
    },
  };

  return {
    observer,
    countSessions(source) {
      sessions = source;
    },
    contentType: registry.contentType,
    text() {
      if (!processWatched) {
        processWatched = true;
        collectDefaultMetrics({ register: registry, prefix: "skillsmith_" });
      }
      return registry.metrics();
    },
  };
}
