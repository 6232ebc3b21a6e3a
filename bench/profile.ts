/**
 * npm run bench:profile [-- --probes 3000] [--runs 1000] [--http] [--out dir]
 *
 * The hot paths under a CPU profiler: the built gateway (`serve`, over stdio, or `serve --http` with --http) is
 * started with `node --cpu-prof`, fronting the `everything` server as its stdio child; one client makes fresh
 * echo probes, then runs of a saved one-call skill, one after another. When the gateway has exited, the profile of
 * its main thread is summed up: the functions with the most self time, and the time by package. The .cpuprofile
 * files (one per thread) stay in --out for Chrome DevTools.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { z } from "zod";
import { ensureBuilt, gatewayConfig, writeConfig } from "./clients.js";
import { realServers } from "./fixtures.js";
import { connect, disconnect } from "./load/driver.js";
import { startGatewayHttp } from "./load/services.js";
import { textTable } from "./report.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

type CallFrame = z.infer<typeof profileSchema>["nodes"][number]["callFrame"];

/** Where a frame's code lives: a package, one of our folders, a part of Node, or the engine itself. */
function placeOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : `native ${functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const ours = /\/dist\/([^/]+)/.exec(url)?.[1];
  if (ours) return `skillsmith ${ours.replace(/\.js$/, "")}`;
  return url.startsWith("node:")
    ? `node ${
        url
          .slice(5)
          .replace(/^internal\//, "")
          .split("/")[0]
      }`
    : url;
}

const nameOf = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^.*\/dist\//, "dist/")}:${frame.lineNumber + 1}`;

/** Self time by function and by place, in ms, without idle time. */
async function summarize(file: string, top: number): Promise<string> {
  const profile = profileSchema.parse(JSON.parse(await readFile(file, "utf8")));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const byName = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0 || node.callFrame.functionName === "(idle)") continue;
    busy += ms;
    const name = nameOf(node.callFrame);
    byName.set(name, (byName.get(name) ?? 0) + ms);
    const place = placeOf(node.callFrame);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
  }
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, ms]) => [what, ms.toFixed(0), `${((100 * ms) / busy).toFixed(1)}%`]);
  return [
    `busy ${busy.toFixed(0)} ms on the gateway's main thread (idle excluded)`,
    textTable(["function (self time)", "ms", "share"], lines(byName)),
    textTable(["place (self time)", "ms", "share"], lines(byPlace)),
  ].join("\n\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      probes: { type: "string", default: "3000" },
      runs: { type: "string", default: "1000" },
      http: { type: "boolean", default: false },
      out: { type: "string" },
      top: { type: "string", default: "25" },
    },
  });
  const probes = Number(values.probes);
  const runs = Number(values.runs);
  const build = await ensureBuilt(root);
  if (build.built) process.stderr.write("built dist/ (src/ was newer)\n");
  const out = path.resolve(values.out ?? path.join(root, "bench/.tmp/profile"));
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const dir = await mkdtemp(path.join(tmpdir(), "skillsmith-profile-"));
  try {
    const { everything } = await realServers(dir);
    if (!everything) throw new Error("no everything server");
    const config = await writeConfig(dir, gatewayConfig({ everything }, dir));
    const profiling = ["--cpu-prof", "--cpu-prof-dir", out];
    let client: Client;
    let stop: () => Promise<void>;
    if (values.http) {
      const gateway = await startGatewayHttp(root, config, profiling);
      client = await connect(gateway.url);
      stop = async () => {
        await disconnect(client);
        await gateway.stop();
      };
    } else {
      client = new Client({ name: "skillsmith-profile", version: "1.0.0" });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [
            ...profiling,
            path.join(root, "dist/cli.js"),
            "serve",
            "--config",
            config,
            "--log-level",
            "error",
          ],
          cwd: dir,
          stderr: "ignore",
        }),
      );
      stop = () => client.close();
    }
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content).slice(0, 300)}`);
    };
    const probe = (i: number) =>
      call("probe_tool", { tool: "everything.echo", arguments: { message: `m${i}` }, fresh: true });
    await probe(0);
    await call("save_skill", {
      name: "echo-once",
      description: "one echo",
      code: 'export default async (input, { call, step }) => step("echo", () => call("everything.echo", { message: String(input.message) }))',
      test: { input: { message: "warm" } },
    });
    const started = performance.now();
    for (let i = 0; i < probes; i++) await probe(i);
    const probed = performance.now();
    for (let i = 0; i < runs; i++)
      await call("run_skill", { name: "echo-once", input: { message: `m${i}` } });
    const ran = performance.now();
    await stop();
    process.stdout.write(
      `${probes} probes, ${((probed - started) / Math.max(1, probes)).toFixed(3)} ms each; ` +
        `${runs} runs, ${((ran - probed) / Math.max(1, runs)).toFixed(3)} ms each (wall, under the profiler)\n\n`,
    );
    // The main thread's profile is the first one Node writes (its thread id is 0).
    const files = (await readdir(out)).filter((f) => f.endsWith(".cpuprofile")).sort();
    const main = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
    if (!main) throw new Error(`no .cpuprofile was written to ${out}`);
    process.stdout.write(
      `${await summarize(path.join(out, main), Number(values.top))}\n\nprofiles: ${out}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:profile: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
