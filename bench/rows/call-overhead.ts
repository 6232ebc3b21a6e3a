import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectDirect, gatewayConfig, spawnGateway, writeConfig } from "../clients.js";
import { realServers, type ServerEntry } from "../fixtures.js";
import { connect, disconnect } from "../load/driver.js";
import { processStats, startEverythingHttp, startGatewayHttp } from "../load/services.js";
import { type BenchContext, compare, formatValue, missing, type Row, type RowGroup } from "../report.js";
import { percentile } from "../stats.js";

const GROUP = "4 Call overhead";

type Outcome = { ok: true } | { ok: false; text: string };

function outcomeOf(result: Awaited<ReturnType<Client["callTool"]>>): Outcome {
  if (!result.isError) return { ok: true };
  const content = Array.isArray(result.content) ? result.content : [];
  const text = content
    .map((c) => (c && typeof c === "object" && "text" in c ? String(c.text) : ""))
    .join(" ");
  return { ok: false, text: text.slice(0, 300) };
}

/** probe_tool on everything.echo, fresh, so every call reaches the server (echo is annotated read-only). */
const probeEcho = (client: Client, message: string) =>
  client.callTool({
    name: "probe_tool",
    arguments: { tool: "everything.echo", arguments: { message }, fresh: true },
  });

/** The first probe waits for the gateway to connect `everything` (skillsmith.startupWaitMs); or says why not. */
const probeReady = async (client: Client): Promise<Outcome> => outcomeOf(await probeEcho(client, "warm up"));

export interface Budget {
  /** At most this many calls per path. */
  calls: number;
  /** Stop early once this much time has passed in all (after `minCalls`). */
  ms: number;
  minCalls: number;
}

/** Sequential call latencies of several paths, interleaved in blocks so drift hits all alike. */
export async function interleaved(
  paths: Array<(i: number) => Promise<unknown>>,
  budget: Budget,
  block = 25,
): Promise<number[][]> {
  const samples = paths.map(() => [] as number[]);
  const started = performance.now();
  for (let done = 0; done < budget.calls; done += block) {
    if (done >= budget.minCalls && performance.now() - started > budget.ms) break;
    for (const [p, call] of paths.entries()) {
      for (let i = done; i < Math.min(budget.calls, done + block); i++) {
        const t = performance.now();
        await call(i);
        samples[p]?.push(performance.now() - t);
      }
    }
  }
  return samples;
}

/** The pid of the process at the other end of a stdio client (the gateway, or a server). */
const pidOf = (client: Client) =>
  client.transport instanceof StdioClientTransport ? (client.transport.pid ?? undefined) : undefined;

async function withGateway<T>(
  context: BenchContext,
  everything: ServerEntry,
  skillsmith: Record<string, unknown>,
  use: (client: Client, pid: number | undefined) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(context.tmp, "call-gateway-"));
  const client = await spawnGateway(
    context.root,
    await writeConfig(dir, gatewayConfig({ everything }, dir, skillsmith)),
  );
  try {
    return await use(client, pidOf(client));
  } finally {
    await client.close();
  }
}

/** CPU ms that `pid` spends per call over `calls` sequential calls of `call` (from /proc; undefined elsewhere). */
async function cpuPerCall(pid: number | undefined, calls: number, call: (i: number) => Promise<unknown>) {
  const before = await processStats(pid);
  for (let i = 0; i < calls; i++) await call(i);
  const after = await processStats(pid);
  return before && after ? (after.cpuMs - before.cpuMs) / calls : undefined;
}

/**
 * probe_tool over Streamable HTTP against a direct SDK client over HTTP to the `everything` server (run once over
 * HTTP on loopback). Two gateways (the built bin, `serve --http`): one fronting `everything` as its own stdio child,
 * the usual way, and one reaching the very process the direct client calls, over HTTP (a second HTTP hop).
 */
async function httpOverhead(
  context: BenchContext,
  stdioEverything: ServerEntry,
  budget: Budget,
): Promise<Row[]> {
  const stops: Array<() => Promise<void>> = [];
  const clients: Client[] = [];
  try {
    const everything = await startEverythingHttp(context.root);
    stops.push(everything.stop);
    const gatewayTo = async (entry: ServerEntry, skillsmith: Record<string, unknown> = {}) => {
      const dir = await mkdtemp(path.join(context.tmp, "call-http-"));
      const gateway = await startGatewayHttp(
        context.root,
        await writeConfig(dir, gatewayConfig({ everything: entry }, dir, skillsmith)),
      );
      stops.push(gateway.stop);
      const client = await connect(gateway.url);
      clients.push(client);
      const ready = await probeReady(client);
      if (!ready.ok) throw new Error(`probe_tool over HTTP failed: ${ready.text}`);
      return async (i: number) => {
        const outcome = outcomeOf(await probeEcho(client, `hello ${i}`));
        if (!outcome.ok) throw new Error(`probe_tool everything.echo over HTTP failed: ${outcome.text}`);
      };
    };
    const viaStdio = await gatewayTo(stdioEverything);
    const viaHttp = await gatewayTo({ url: everything.url });
    const plain = await gatewayTo(stdioEverything, { http: { resumable: false } });
    const direct = await connect(everything.url);
    clients.push(direct);
    const directCall = async (i: number) => {
      const result = await direct.callTool({ name: "echo", arguments: { message: `hello ${i}` } });
      if (result.isError) throw new Error(`direct echo over HTTP failed: ${JSON.stringify(result.content)}`);
    };
    const paths = [viaStdio, viaHttp, plain, directCall];
    await interleaved(paths, { calls: 25, ms: 0, minCalls: 25 });
    const [stdioMs = [], httpMs = [], plainMs = [], directMs = []] = await interleaved(paths, budget);
    const how = `${directMs.length} calls each over Streamable HTTP on loopback, interleaved; baseline = direct SDK client over HTTP to the everything server`;
    return [
      ...[50, 99].map((p) =>
        compare(
          GROUP,
          `everything.echo p${p}, probe_tool (fresh) over HTTP vs direct over HTTP`,
          percentile(stdioMs, p),
          percentile(directMs, p),
          "ms",
          `target ≤ 2×; the gateway runs everything as its stdio child (the usual way); ${how}`,
        ),
      ),
      compare(
        GROUP,
        "everything.echo p50, probe_tool (fresh) over HTTP with http.resumable false, vs direct over HTTP",
        percentile(plainMs, 50),
        percentile(directMs, 50),
        "ms",
        `target ≤ 2×; as the row above, but the gateway keeps no events, so its answers open with no priming event; ${how}`,
      ),
      compare(
        GROUP,
        "everything.echo p50, probe_tool (fresh) over HTTP, everything over HTTP behind it too, vs direct over HTTP",
        percentile(httpMs, 50),
        percentile(directMs, 50),
        "ms",
        `the gateway reaches the same everything process as the direct client, over HTTP: two HTTP hops against one; ${how}`,
      ),
    ];
  } finally {
    await Promise.all(clients.map(disconnect));
    for (const stop of stops.reverse()) await stop();
  }
}

export const callOverhead: RowGroup = {
  name: "call-overhead",
  async run(context: BenchContext) {
    const { everything } = await realServers(await mkdtemp(path.join(context.tmp, "call-")));
    if (!everything) throw new Error("no everything server");
    const budget: Budget = context.quick
      ? { calls: 300, ms: 2_000, minCalls: 50 }
      : { calls: 3_000, ms: 40_000, minCalls: 500 };
    const direct = await connectDirect(everything);
    try {
      const directCall = async (i: number) => {
        const result = await direct.callTool({ name: "echo", arguments: { message: `hello ${i}` } });
        if (result.isError) throw new Error(`direct echo failed: ${JSON.stringify(result.content)}`);
      };
      const measure = (skillsmith: Record<string, unknown>) =>
        withGateway(context, everything, skillsmith, async (gateway, pid) => {
          const ready = await probeReady(gateway);
          if (!ready.ok) {
            const why = `probe_tool failed: ${ready.text}`;
            const [directMs = []] = await interleaved([directCall], budget);
            return { why, viaGateway: [], viaDirect: directMs, cpu: undefined };
          }
          const gatewayCall = async (i: number) => {
            const outcome = outcomeOf(await probeEcho(gateway, `hello ${i}`));
            if (!outcome.ok) throw new Error(`probe_tool everything.echo failed: ${outcome.text}`);
          };
          await interleaved([gatewayCall, directCall], { calls: 25, ms: 0, minCalls: 25 });
          const [viaGateway = [], viaDirect = []] = await interleaved([gatewayCall, directCall], budget);
          // CPU per call, each path alone: the gateway process per probe, the everything server per direct echo.
          const cpuCalls = Math.min(budget.calls, 2000);
          const cpu = {
            gateway: await cpuPerCall(pid, cpuCalls, gatewayCall),
            server: await cpuPerCall(pidOf(direct), cpuCalls, directCall),
            calls: cpuCalls,
          };
          return { why: undefined, viaGateway, viaDirect, cpu };
        });

      const rows: Row[] = [];
      // The default configuration (file store), then a memory store, to show what persisting each probe costs.
      const byDefault = await measure({});
      const inMemory = await measure({ store: "memory:" });
      for (const [label, run, percentiles] of [
        ["default file store", byDefault, [50, 99]],
        ['store "memory:"', inMemory, [50]],
      ] as const) {
        for (const p of percentiles) {
          const what = `everything.echo p${p}, probe_tool (fresh, ${label}) vs direct`;
          if (run.why) {
            rows.push(missing(GROUP, what, run.why, formatValue(percentile(run.viaDirect, p), "ms")));
            continue;
          }
          const note = `target ≤ 1.3×; ${run.viaGateway.length} calls each over stdio; baseline = direct SDK client`;
          rows.push(
            compare(GROUP, what, percentile(run.viaGateway, p), percentile(run.viaDirect, p), "ms", note),
          );
        }
      }
      if (byDefault.cpu?.gateway !== undefined && byDefault.cpu.server !== undefined) {
        rows.push(
          compare(
            GROUP,
            "gateway CPU per probe_tool (fresh, default file store) vs the everything server's CPU per echo",
            byDefault.cpu.gateway,
            byDefault.cpu.server,
            "ms",
            `target ≤ 0.5 ms; user+system CPU of the gateway process (all its threads, /proc) over ${byDefault.cpu.calls} sequential probes over stdio, against the everything server's over as many direct echo calls`,
          ),
        );
      }
      rows.push(...(await httpOverhead(context, everything, budget)));
      return rows;
    } finally {
      await direct.close();
    }
  },
};
