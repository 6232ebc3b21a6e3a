import { mkdtemp, readFile } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectDirect, gatewayConfig, spawnGateway, writeConfig } from "../clients.js";
import { realServers, type ServerEntry } from "../fixtures.js";
import {
  type BenchContext,
  compare,
  formatRatio,
  formatValue,
  missing,
  type Row,
  type RowGroup,
} from "../report.js";
import { median, percentile, sleep, timed } from "../stats.js";
import { type Budget, interleaved } from "./call-overhead.js";

/**
 * Skills rows, each measured against a baseline in the same run, everything over stdio through the built bin:
 * - 4: everything.echo called once by a skill through run_skill, against a direct SDK client (p50, p99);
 * - 5: cold and warm run_skill overhead over the 3 echo calls the skill makes (run_skill wall − the same calls direct);
 *   the steady-state figures again with store "memory:", which shows what persisting each run record costs;
 * - 5: N overlapping slow calls in `parallel` against the same calls in sequence (speedup);
 * - 5: RSS of the pre-warmed sandbox worker pool (workers = 2, the default, against workers = 1);
 * - 5: one nested skill call: a skill calling a skill calling everything.echo, against a skill calling it (p50).
 */

const GROUP4 = "4 Call overhead";
const GROUP = "5 Skills";

const ECHO_ONCE = "bench-echo-once";
const ECHO_THREE = "bench-echo-three";
const SLOW_PARALLEL = "bench-slow-parallel";
const SLOW_SEQUENTIAL = "bench-slow-sequential";
const ECHO_NESTED = "bench-echo-nested";

interface SkillSource {
  name: string;
  description: string;
  code: string;
  inputSchema: Record<string, unknown>;
}

const messageSchema = {
  type: "object",
  properties: { message: { type: "string" } },
  required: ["message"],
};
const slowSchema = {
  type: "object",
  properties: { n: { type: "integer", minimum: 1 }, duration: { type: "number" } },
  required: ["n", "duration"],
};

const SKILLS: Record<string, SkillSource> = {
  [ECHO_ONCE]: {
    name: ECHO_ONCE,
    description: "Echo a message once (bench)",
    inputSchema: messageSchema,
    code: `export default async function run(input, { call }) {
  return call("everything.echo", { message: input.message });
}`,
  },
  [ECHO_THREE]: {
    name: ECHO_THREE,
    description: "Echo a message three times, one step each (bench)",
    inputSchema: messageSchema,
    code: `export default async function run(input, { call, step }) {
  const a = await step("first echo", () => call("everything.echo", { message: input.message + " 1" }));
  const b = await step("second echo", () => call("everything.echo", { message: input.message + " 2" }));
  const c = await step("third echo", () => call("everything.echo", { message: input.message + " 3" }));
  return [a, b, c];
}`,
  },
  [ECHO_NESTED]: {
    name: ECHO_NESTED,
    description: "Echo a message once through the skill that echoes it (bench)",
    inputSchema: messageSchema,
    code: `export default async function run(input, { call }) {
  return call("${ECHO_ONCE}", { message: input.message });
}`,
  },
  [SLOW_PARALLEL]: {
    name: SLOW_PARALLEL,
    description: "Run n slow operations at once with parallel (bench)",
    inputSchema: slowSchema,
    code: `export default async function run(input, { call, parallel }) {
  const items = Array.from({ length: input.n }, (_, i) => i);
  const done = await parallel(items, () =>
    call("everything.trigger-long-running-operation", { duration: input.duration, steps: 1 }),
    { concurrency: input.n });
  return done.length;
}`,
  },
  [SLOW_SEQUENTIAL]: {
    name: SLOW_SEQUENTIAL,
    description: "Run n slow operations one after the other (bench)",
    inputSchema: slowSchema,
    code: `export default async function run(input, { call }) {
  let done = 0;
  for (let i = 0; i < input.n; i++) {
    await call("everything.trigger-long-running-operation", { duration: input.duration, steps: 1 });
    done++;
  }
  return done;
}`,
  },
};

function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content
    .map((c) => (c && typeof c === "object" && "text" in c ? String(c.text) : ""))
    .join(" ")
    .slice(0, 300);
}

async function saveSkill(client: Client, skill: SkillSource): Promise<void> {
  const result = await client.callTool({ name: "save_skill", arguments: { ...skill } });
  if (result.isError) throw new Error(`save_skill ${skill.name} failed: ${textOf(result)}`);
}

interface RunView {
  ok: boolean;
  /** Milliseconds the run took inside the gateway (sandbox and calls), as it reports. */
  tookMs: number;
  calls: number;
}

/** One run_skill over MCP; throws unless the run succeeded. */
async function runSkill(client: Client, name: string, input: Record<string, unknown>): Promise<RunView> {
  const result = await client.callTool({ name: "run_skill", arguments: { name, input } });
  const view = result.structuredContent as RunView | undefined;
  if (result.isError || !view?.ok) throw new Error(`run_skill ${name} failed: ${textOf(result)}`);
  return view;
}

async function directEcho(direct: Client, message: string): Promise<void> {
  const result = await direct.callTool({ name: "echo", arguments: { message } });
  if (result.isError) throw new Error(`direct echo failed: ${textOf(result)}`);
}

/** The same three calls the ECHO_THREE skill makes, one after the other, over a direct SDK client. */
async function directEchoThree(direct: Client, message: string): Promise<void> {
  await directEcho(direct, `${message} 1`);
  await directEcho(direct, `${message} 2`);
  await directEcho(direct, `${message} 3`);
}

interface Spawned {
  client: Client;
  pid: number | null;
  close(): Promise<void>;
}

/** The built bin over stdio, fronting only `everything`, its state in a fresh directory. */
async function startGateway(
  context: BenchContext,
  everything: ServerEntry,
  skillsmith: Record<string, unknown> = {},
): Promise<Spawned> {
  const dir = await mkdtemp(path.join(context.tmp, "skills-gateway-"));
  const config = gatewayConfig({ everything }, dir, skillsmith);
  const client = await spawnGateway(context.root, await writeConfig(dir, config));
  const pid = (client.transport as StdioClientTransport | undefined)?.pid ?? null;
  let closing: Promise<void> | undefined;
  return { client, pid, close: () => (closing ??= client.close()) };
}

/** Waits until search_tools finds everything.echo, i.e. the gateway has connected `everything`. */
async function everythingReady(client: Client): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await client.callTool({
      name: "search_tools",
      arguments: { query: "echo", server: "everything", detail: "name", limit: 50 },
    });
    const found = (result.structuredContent as { results?: Array<{ name: string }> } | undefined)?.results;
    if (found?.some((r) => r.name === "everything.echo")) return;
    if (Date.now() > deadline) throw new Error(`the gateway never listed everything.echo: ${textOf(result)}`);
    await sleep(50);
  }
}

/** VmRSS of a process in bytes, from /proc (Linux); NaN where that cannot be read. */
async function rssOf(pid: number | null): Promise<number> {
  if (pid === null) return Number.NaN;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * RSS once it has settled: sampled every 100 ms until five samples in a row (400 ms) stay within 0.5 MB, so the
 * pre-warmed workers (each loads QuickJS's WebAssembly module as it starts) have finished starting; at most 6 s.
 */
async function settledRss(pid: number | null, quick: boolean): Promise<number> {
  const samples: number[] = [];
  const deadline = Date.now() + (quick ? 3_000 : 6_000);
  for (;;) {
    const rss = await rssOf(pid);
    if (!Number.isFinite(rss)) return rss;
    samples.push(rss);
    const last = samples.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 512 * 1024) return rss;
    if (Date.now() > deadline) return rss;
    await sleep(100);
  }
}

const ms = (value: number) => formatValue(value, "ms");
const mb = (bytes: number) => formatValue(bytes, "MB");

interface Plan {
  /** Fresh gateway processes for the cold runs (the first one is kept for the warm rows). */
  coldRounds: number;
  /** Gateways spawned with one sandbox worker, for the memory row. */
  oneWorkerRounds: number;
  /** Unmeasured runs before each steady-state series. */
  warmUp: number;
  /** Runs of the 3-echo skill (and its 3 direct calls), interleaved in blocks of 10. */
  warm: Budget;
  /** Runs of the 1-echo skill (and one direct echo), interleaved in blocks of 10. */
  echo: Budget;
  /** Runs of the nested 1-echo skill and of the 1-echo skill, interleaved in blocks of 10. */
  nested: Budget;
  slow: { n: number; duration: number; repeats: number };
}

const QUICK: Plan = {
  coldRounds: 2,
  oneWorkerRounds: 1,
  warmUp: 4,
  warm: { calls: 200, ms: 600, minCalls: 10 },
  echo: { calls: 300, ms: 600, minCalls: 20 },
  nested: { calls: 300, ms: 600, minCalls: 20 },
  slow: { n: 4, duration: 0.2, repeats: 1 },
};

const FULL: Plan = {
  coldRounds: 5,
  oneWorkerRounds: 3,
  warmUp: 20,
  warm: { calls: 1_000, ms: 10_000, minCalls: 100 },
  echo: { calls: 2_000, ms: 15_000, minCalls: 200 },
  nested: { calls: 2_000, ms: 15_000, minCalls: 200 },
  slow: { n: 8, duration: 0.5, repeats: 3 },
};

interface Steady {
  /** run_skill wall of the 3-echo skill, and the same 3 calls direct. */
  threeWall: number[];
  threeDirect: number[];
  /** tookMs the gateway reported for those runs. */
  threeTook: number[];
  /** run_skill wall of the 1-echo skill, and one echo direct. */
  onceWall: number[];
  onceDirect: number[];
}

/** Steady-state runs of the echo skills in a gateway where both are saved, interleaved with the direct calls. */
async function steady(client: Client, direct: Client, plan: Plan): Promise<Steady> {
  const threeTook: number[] = [];
  const skillThree = async (i: number) => {
    threeTook.push((await runSkill(client, ECHO_THREE, { message: `warm ${i}` })).tookMs);
  };
  const directThree = (i: number) => directEchoThree(direct, `warm ${i}`);
  const skillOnce = (i: number) => runSkill(client, ECHO_ONCE, { message: `hello ${i}` });
  const directOnce = (i: number) => directEcho(direct, `hello ${i}`);
  const warmUp: Budget = { calls: plan.warmUp, ms: 0, minCalls: plan.warmUp };

  await interleaved([skillThree, directThree], warmUp, plan.warmUp);
  threeTook.length = 0;
  const [threeWall = [], threeDirect = []] = await interleaved([skillThree, directThree], plan.warm, 10);
  await interleaved([skillOnce, directOnce], warmUp, plan.warmUp);
  const [onceWall = [], onceDirect = []] = await interleaved([skillOnce, directOnce], plan.echo, 10);
  return { threeWall, threeDirect, threeTook, onceWall, onceDirect };
}

interface Nested {
  nestedWall: number[];
  flatWall: number[];
  nestedTook: number[];
  flatTook: number[];
}

/** A skill that calls the 1-echo skill, against the 1-echo skill itself, interleaved (one nested call's cost). */
async function nestedCall(client: Client, plan: Plan): Promise<Nested> {
  const nestedTook: number[] = [];
  const flatTook: number[] = [];
  const viaSkill = async (i: number) =>
    nestedTook.push((await runSkill(client, ECHO_NESTED, { message: `nested ${i}` })).tookMs);
  const direct = async (i: number) =>
    flatTook.push((await runSkill(client, ECHO_ONCE, { message: `flat ${i}` })).tookMs);
  const warmUp: Budget = { calls: plan.warmUp, ms: 0, minCalls: plan.warmUp };
  await interleaved([viaSkill, direct], warmUp, plan.warmUp);
  nestedTook.length = 0;
  flatTook.length = 0;
  const [nestedWall = [], flatWall = []] = await interleaved([viaSkill, direct], plan.nested, 10);
  return { nestedWall, flatWall, nestedTook, flatTook };
}

export const skills: RowGroup = {
  name: "skills",
  async run(context: BenchContext) {
    const { quick, log } = context;
    const plan = quick ? QUICK : FULL;
    const { everything } = await realServers(await mkdtemp(path.join(context.tmp, "skills-")));
    if (!everything) throw new Error("no everything server");

    const rssDefault: number[] = [];
    const rssOne: number[] = [];
    const coldWall: number[] = [];
    const coldTook: number[] = [];
    const secondWall: number[] = [];
    const coldDirect: number[] = [];

    /** A fresh gateway (default pool of 2 workers): its RSS before any skill, then a skill saved and run twice. */
    const coldRound = async (round: number): Promise<Spawned> => {
      const gateway = await startGateway(context, everything);
      try {
        await everythingReady(gateway.client);
        rssDefault.push(await settledRss(gateway.pid, quick));
        await saveSkill(gateway.client, SKILLS[ECHO_THREE] as SkillSource);
        const first = await timed(() => runSkill(gateway.client, ECHO_THREE, { message: `cold ${round}` }));
        coldWall.push(first.ms);
        coldTook.push(first.value.tookMs);
        secondWall.push((await timed(() => runSkill(gateway.client, ECHO_THREE, { message: "again" }))).ms);
      } catch (error) {
        await gateway.close();
        throw error;
      }
      // The cold baseline: the first three calls of a fresh direct client to a server just started, as the
      // gateway's was (the skill's calls were the first that server answered).
      const fresh = await connectDirect(everything);
      try {
        coldDirect.push((await timed(() => directEchoThree(fresh, `cold ${round}`))).ms);
      } finally {
        await fresh.close();
      }
      return gateway;
    };

    const oneWorkerRound = async () => {
      const gateway = await startGateway(context, everything, { sandbox: { workers: 1 } });
      try {
        await everythingReady(gateway.client);
        rssOne.push(await settledRss(gateway.pid, quick));
      } finally {
        await gateway.close();
      }
    };

    const main = await coldRound(0);
    const direct = await connectDirect(everything);
    try {
      for (let round = 1; round < Math.max(plan.coldRounds, plan.oneWorkerRounds + 1); round++) {
        if (round <= plan.oneWorkerRounds) await oneWorkerRound();
        if (round < plan.coldRounds) await (await coldRound(round)).close();
      }
      log(`skills: ${coldWall.length} cold runs, ${rssDefault.length} + ${rssOne.length} RSS readings`);

      const client = main.client;
      for (const skill of [ECHO_ONCE, ECHO_NESTED, SLOW_PARALLEL, SLOW_SEQUENTIAL]) {
        await saveSkill(client, SKILLS[skill] as SkillSource);
      }
      const byDefault = await steady(client, direct, plan);
      const nested = await nestedCall(client, plan);
      log(`skills: ${nested.nestedWall.length} nested runs, ${nested.flatWall.length} flat runs`);
      const rssAfterRuns = await rssOf(main.pid);
      log(`skills: ${byDefault.threeWall.length} warm runs, ${byDefault.onceWall.length} echo runs`);

      // N overlapping slow calls: parallel against sequential, alternating which goes first.
      const { slow } = plan;
      const parallelWall: number[] = [];
      const sequentialWall: number[] = [];
      const slowInput = { n: slow.n, duration: slow.duration };
      const par = async () =>
        parallelWall.push((await timed(() => runSkill(client, SLOW_PARALLEL, slowInput))).ms);
      const seq = async () =>
        sequentialWall.push((await timed(() => runSkill(client, SLOW_SEQUENTIAL, slowInput))).ms);
      for (let r = 0; r < slow.repeats; r++) {
        for (const run of r % 2 === 0 ? [par, seq] : [seq, par]) await run();
      }
      await main.close();

      // The same steady-state runs with store "memory:", to show what persisting each run record costs.
      const memory = await startGateway(context, everything, { store: "memory:" });
      let inMemory: Steady;
      try {
        await everythingReady(memory.client);
        for (const skill of [ECHO_ONCE, ECHO_THREE])
          await saveSkill(memory.client, SKILLS[skill] as SkillSource);
        inMemory = await steady(memory.client, direct, plan);
      } finally {
        await memory.close();
      }
      log(
        `skills: ${inMemory.threeWall.length} warm runs, ${inMemory.onceWall.length} echo runs (store memory:)`,
      );

      const rows: Row[] = [];
      for (const [label, run, percentiles] of [
        ["default file store", byDefault, [50, 99]],
        ['store "memory:"', inMemory, [50]],
      ] as const) {
        for (const p of percentiles) {
          rows.push(
            compare(
              GROUP4,
              `everything.echo p${p}, via a skill (run_skill, ${label}) vs direct`,
              percentile(run.onceWall, p),
              percentile(run.onceDirect, p),
              "ms",
              `${run.onceWall.length} run_skill calls of a skill making 1 echo call, over stdio; baseline = direct SDK client; interleaved`,
            ),
          );
        }
      }

      const overheadRow = (measure: string, wall: number, directMs: number, how: string): Row => ({
        group: GROUP,
        measure,
        skillsmith: `+${ms(wall - directMs)} (run_skill ${ms(wall)})`,
        baseline: `${ms(directMs)} (the 3 calls direct)`,
        ratio: formatRatio(wall, directMs),
        note: `overhead = run_skill wall − the same 3 echo calls direct; ratio = run_skill ÷ direct; ${how}`,
      });
      rows.push(
        overheadRow(
          "cold run_skill overhead over its calls",
          median(coldWall),
          median(coldDirect),
          `first run of a just-saved skill (3 steps, one echo each) in a fresh gateway, median of ${coldWall.length} ` +
            `processes; baseline = the first 3 calls of a fresh direct client; the gateway reported ` +
            `${ms(median(coldTook))} for the run itself (tookMs); the 2nd run took ${ms(median(secondWall))}`,
        ),
      );
      for (const [label, run] of [
        ["", byDefault],
        [', store "memory:"', inMemory],
      ] as const) {
        rows.push(
          overheadRow(
            `warm run_skill overhead over its calls${label}`,
            median(run.threeWall),
            median(run.threeDirect),
            `p50 of ${run.threeWall.length} steady-state runs of the same skill, interleaved with the 3 calls direct; ` +
              `the gateway reported ${ms(median(run.threeTook))} for the run itself (tookMs)`,
          ),
        );
      }

      rows.push({
        ...compare(
          GROUP,
          "one nested skill call: skill → skill → everything.echo vs skill → everything.echo (p50)",
          percentile(nested.nestedWall, 50),
          percentile(nested.flatWall, 50),
          "ms",
          "",
        ),
        note:
          `run_skill wall over stdio, ${nested.nestedWall.length} runs each, interleaved in blocks of 10; the gateway ` +
          `reported p50 ${ms(percentile(nested.nestedTook, 50))} vs ${ms(percentile(nested.flatTook, 50))} for the ` +
          "run itself (tookMs); the nested skill runs in the same sandbox run (no second worker)",
      });

      const parMs = median(parallelWall);
      const seqMs = median(sequentialWall);
      rows.push({
        group: GROUP,
        measure: `${slow.n} overlapping slow calls (${slow.duration} s each): parallel vs sequential (speedup)`,
        skillsmith: `${ms(parMs)} parallel`,
        baseline: `${ms(seqMs)} sequential`,
        ratio: formatRatio(parMs, seqMs),
        note:
          `speedup ${formatRatio(seqMs, parMs)} (ideal ${slow.n}×); one skill calls everything.trigger-long-running-operation ` +
          `{duration: ${slow.duration}, steps: 1} ${slow.n} times in parallel (concurrency ${slow.n}), another in a loop; ` +
          `run_skill wall, median of ${slow.repeats}; the gateway's per-server concurrency is 8 (default)`,
      });

      const oneMs = median(rssOne);
      const twoMs = median(rssDefault);
      const perWorker = twoMs - oneMs;
      const measure = "sandbox worker pool RSS: 2 pre-warmed workers (default) vs the gateway without them";
      if (!Number.isFinite(perWorker)) {
        rows.push(missing(GROUP, measure, "no /proc/<pid>/status to read RSS from"));
      } else {
        rows.push({
          ...compare(GROUP, measure, 2 * perWorker, oneMs - perWorker, "MB", ""),
          skillsmith: `${mb(2 * perWorker)} (${mb(perWorker)} per worker)`,
          baseline: `${mb(oneMs - perWorker)} (estimated)`,
          note:
            `VmRSS of the gateway bin (fronting everything) once it answered search_tools and its RSS settled, no ` +
            `skill run yet: workers 2 (default) ${mb(twoMs)}, median of ${rssDefault.length} processes; workers 1 ` +
            `${mb(oneMs)}, median of ${rssOne.length}; per worker = the difference; baseline = rss(1 worker) − per ` +
            `worker; RSS of the default gateway after all its runs: ${mb(rssAfterRuns)}`,
        });
      }
      return rows;
    } finally {
      await direct.close();
      await main.close();
    }
  },
};
