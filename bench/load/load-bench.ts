/**
 * `npm run bench -- --load`: mixed search_tools / probe_tool / run_skill traffic from 1, 10 and 50 concurrent HTTP
 * sessions for a bounded time, against one gateway instance and against two behind nginx round-robin (one Redis
 * store), each level beside direct SDK sessions calling the same downstream server in the same run.
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { gatewayConfig, writeConfig } from "../clients.js";
import { type BenchContext, formatRatio, formatValue, textTable } from "../report.js";
import { connect, disconnect, type LoadResult, type Operation, openSessions } from "./driver.js";
import {
  hasBinary,
  NGINX,
  processStats,
  REDIS_SERVER,
  type Service,
  startEverythingHttp,
  startGatewayHttp,
  startNginx,
  startRedis,
} from "./services.js";

export const LOAD_LEVELS = [1, 10, 50];
/** The gateway's and the direct sessions alternate in slices of this many seconds. */
const SLICE_SECONDS = 2;
/** The probe-only level the issue sets a throughput target for (≥ 25% of direct). */
const PROBE_SESSIONS = 50;

const SKILL = "echo-once";
const SKILL_CODE = `export default async function run(input, { call, step }) {
  return step("echo", () => call("everything.echo", { message: String(input.message ?? "hi") }));
}
`;

const search: Operation = {
  name: "search_tools",
  call: (c, i) =>
    c.callTool({
      name: "search_tools",
      arguments: { query: i % 2 ? "echo a message" : "add two numbers", limit: 5 },
    }),
};
const probe: Operation = {
  name: "probe_tool",
  call: (c, i) =>
    c.callTool({
      name: "probe_tool",
      arguments: { tool: "everything.echo", arguments: { message: `load ${i}` }, fresh: true },
    }),
};
const runSkill: Operation = {
  name: "run_skill",
  call: (c, i) =>
    c.callTool({ name: "run_skill", arguments: { name: SKILL, input: { message: `load ${i}` } } }),
};
const direct: Operation = {
  name: "echo (direct)",
  call: (c, i) => c.callTool({ name: "echo", arguments: { message: `load ${i}` } }),
};

export interface LoadRow {
  target: string;
  workload: string;
  result: LoadResult;
  baseline: LoadResult;
  rssBefore?: number;
  rssAfter?: number;
  /** Gateway CPU (all instances) per call, ms. */
  cpuPerCall?: number;
}

interface Target {
  label: string;
  url: string;
  /** The gateway processes (RSS and CPU are summed over them). */
  pids: Array<number | undefined>;
}

async function gatewayStats(pids: Array<number | undefined>) {
  const all = await Promise.all(pids.map(processStats));
  if (all.some((s) => s === undefined)) return undefined;
  return all.reduce((a, b) => ({
    rss: (a?.rss ?? 0) + (b?.rss ?? 0),
    cpuMs: (a?.cpuMs ?? 0) + (b?.cpuMs ?? 0),
  }));
}

/** Saves the one-call skill through the target (a test run first), then checks each operation once. */
async function prepare(url: string): Promise<void> {
  const client: Client = await connect(url);
  try {
    const saved = await client.callTool({
      name: "save_skill",
      arguments: {
        name: SKILL,
        description: "Echo one message (load test)",
        code: SKILL_CODE,
        test: { input: { message: "warm" } },
        overwrite: true,
      },
    });
    if (saved.isError) throw new Error(`save_skill failed: ${JSON.stringify(saved.content)}`);
    for (const op of [search, probe, runSkill]) {
      const answer = (await op.call(client, 0)) as { isError?: boolean; content?: unknown };
      if (answer.isError)
        throw new Error(`${op.name} failed: ${JSON.stringify(answer.content).slice(0, 300)}`);
    }
  } finally {
    await disconnect(client);
  }
}

async function measureTarget(
  target: Target,
  downstream: string,
  seconds: number,
  log: (m: string) => void,
): Promise<LoadRow[]> {
  await prepare(target.url);
  const rows: LoadRow[] = [];
  const levels: Array<{ sessions: number; workload: string; operations: Operation[] }> = [
    ...LOAD_LEVELS.map((sessions) => ({
      sessions,
      workload: "mixed: search, probe, run_skill",
      operations: [search, probe, runSkill],
    })),
    { sessions: PROBE_SESSIONS, workload: "probe_tool echo (fresh)", operations: [probe] },
  ];
  for (const level of levels) {
    log(
      `load: ${target.label}, ${level.sessions} sessions, ${level.workload}, ${seconds} s, beside direct sessions…`,
    );
    const gateway = await openSessions(target.url, level.sessions, level.operations);
    const baseline = await openSessions(downstream, level.sessions, [direct]);
    try {
      const before = await gatewayStats(target.pids);
      let cpuMs = 0;
      // The gateway's sessions and the direct ones take turns, a slice at a time: the machine's load, which other
      // work on it changes, hits both alike.
      for (let done = 0; done < seconds; done += SLICE_SECONDS) {
        const slice = Math.min(SLICE_SECONDS, seconds - done);
        const from = await gatewayStats(target.pids);
        await gateway.drive(slice);
        const to = await gatewayStats(target.pids);
        if (from && to) cpuMs += to.cpuMs - from.cpuMs;
        await baseline.drive(slice);
      }
      const after = await gatewayStats(target.pids);
      const result = gateway.result();
      if (result.errors > 0) log(`  ${result.errors} errors, e.g. ${result.errorSamples.join(" | ")}`);
      rows.push({
        target: target.label,
        workload: level.workload,
        result,
        baseline: baseline.result(),
        ...(before &&
          after && { rssBefore: before.rss, rssAfter: after.rss, cpuPerCall: cpuMs / result.calls }),
      });
    } finally {
      await gateway.close();
      await baseline.close();
    }
  }
  return rows;
}

/** Runs every load level against one instance, then against two behind nginx when redis-server and nginx exist. */
export async function loadBench(context: BenchContext, seconds: number): Promise<LoadRow[]> {
  const dir = await mkdtemp(path.join(context.tmp, "load-"));
  const stops: Array<() => Promise<void>> = [];
  const started = async (service: Promise<Service>) => {
    const s = await service;
    stops.push(s.stop);
    return s;
  };
  try {
    const everything = await started(startEverythingHttp(context.root));
    const servers = { everything: { url: everything.url } };
    const one = path.join(dir, "one");
    await mkdir(one);
    const single = await started(
      startGatewayHttp(context.root, await writeConfig(one, gatewayConfig(servers, one))),
    );
    const rows = await measureTarget(
      { label: "1 instance", url: single.url, pids: [single.pid] },
      everything.url,
      seconds,
      context.log,
    );
    await single.stop();

    if (!hasBinary(REDIS_SERVER, "--version") || !hasBinary(NGINX, "-v")) {
      context.log(`load: two instances skipped: ${REDIS_SERVER} or ${NGINX} is missing`);
      return rows;
    }
    const redis = await started(startRedis());
    const instances: Service[] = [];
    for (const name of ["a", "b"]) {
      const home = path.join(dir, name);
      await mkdir(home);
      // Separate skill folders: the skill saved through one instance reaches the other through the store.
      const config = gatewayConfig(servers, home, { store: redis.url });
      instances.push(await started(startGatewayHttp(context.root, await writeConfig(home, config))));
    }
    const nginxDir = path.join(dir, "nginx");
    await mkdir(nginxDir);
    const balancer = await started(
      startNginx(
        nginxDir,
        instances.map((i) => i.url),
      ),
    );
    try {
      rows.push(
        ...(await measureTarget(
          {
            label: "2 instances, nginx round-robin, redis",
            url: balancer.url,
            pids: instances.map((i) => i.pid),
          },
          everything.url,
          seconds,
          context.log,
        )),
      );
    } catch (error) {
      context.log(
        `load: two instances behind nginx failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

const ms = (value: number) => formatValue(value, "ms");
const mb = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** The load table: one line per target, workload and session count. */
export function loadTable(rows: LoadRow[]): string {
  const header = [
    "target",
    "sessions",
    "workload",
    "ops/s",
    "p50",
    "p99",
    "errors / calls",
    "RSS before → after",
    "gateway CPU / call",
    "direct echo ops/s (p50)",
    "ops/s ratio",
  ];
  const lines = rows.map((r) => [
    r.target,
    String(r.result.sessions),
    r.workload,
    r.result.opsPerSecond.toFixed(0),
    ms(r.result.p50),
    ms(r.result.p99),
    `${r.result.errors} / ${r.result.calls.toLocaleString("en-US")}`,
    `${mb(r.rssBefore)} → ${mb(r.rssAfter)}`,
    r.cpuPerCall === undefined ? "n/a" : ms(r.cpuPerCall),
    `${r.baseline.opsPerSecond.toFixed(0)} (${ms(r.baseline.p50)})`,
    formatRatio(r.result.opsPerSecond, r.baseline.opsPerSecond),
  ]);
  return textTable(header, lines);
}

/** Per-operation latencies of the mixed levels, for the log. */
export function operationLines(rows: LoadRow[]): string[] {
  return rows.map(
    (r) =>
      `${r.target}, ${r.result.sessions} sessions, ${r.workload}: ` +
      [...r.result.byOperation]
        .map(([name, o]) => `${name} ${o.calls} calls p50 ${ms(o.p50)} p99 ${ms(o.p99)}`)
        .join("; "),
  );
}
