import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Balancer,
  type Instance,
  nginxBinary,
  startBalancer,
  startInstance,
} from "../helpers/cluster.js";
import { realServers, removeDir, tempDir, textOf } from "../helpers/gateway.js";
import { assertBuilt } from "../helpers/processes.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

const missing = [!nginxBinary && "nginx (apt-get install nginx-light)", !hasRedis && "redis-server"].filter(
  Boolean,
);
if (missing.length > 0)
  console.warn(`skipping the load-balancer test: ${missing.join(" and ")} not installed`);

const READER = `export default async (input, { call, step }) => {
  const listing = await step("list", () => call("files.list_directory", { path: input.folder }));
  const report = await step("read", () => call("files.read_text_file", { path: input.folder + "/report.txt" }));
  return { listing: listing.content, report: report.content };
}`;

interface Run extends Record<string, unknown> {
  ok: boolean;
  runId: string;
  steps: Array<{ replayed: boolean }>;
  result?: unknown;
}

describe.skipIf(missing.length > 0)("two instances behind nginx round-robin, one Redis, no affinity", () => {
  let dir: string;
  let root: string;
  let redis: TestRedis;
  let instances: Instance[] = [];
  let balancer: Balancer;
  let client: Client;
  /** The upstream that served each tools/call, in order. */
  const servedBy: string[] = [];

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir();
    root = path.join(dir, "root");
    await mkdir(root);
    redis = await startRedis();
    instances = await Promise.all(
      ["a", "b"].map(async (name) => {
        const file = path.join(dir, `mcp-${name}.json`);
        await writeFile(
          file,
          JSON.stringify({
            mcpServers: { files: { command: process.execPath, args: [realServers.files, root] } },
            skillsmith: {
              store: redis.url,
              skillsDir: `skills-${name}`,
              registryDir: `registry-${name}`,
              sandbox: { workers: 1 },
            },
          }),
        );
        return startInstance(file);
      }),
    );
    balancer = await startBalancer(
      nginxBinary ?? "nginx",
      path.join(dir, "nginx"),
      instances.map((i) => i.port),
    );
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { method?: string }) : {};
      if (body.method === "tools/call") servedBy.push(res.headers.get("x-upstream") ?? "?");
      return res;
    };
    client = new Client({ name: "balanced", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${balancer.url}/mcp`), { fetch: recording }),
    );
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await balancer?.stop();
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.stop();
    await removeDir(dir);
  });

  const call = async (name: string, args: Record<string, unknown>) => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    return { result, upstream: servedBy.at(-1) ?? "?" };
  };

  it("search → probe → save on one instance → run on the other → resume on the other of a run that failed", async () => {
    const found = await call("search_tools", { query: "list the files of a directory" });
    expect(found.result.isError, textOf(found.result)).toBeFalsy();
    expect(JSON.stringify(found.result.structuredContent)).toContain("files.list_directory");

    const probed = await call("probe_tool", { tool: "files.list_directory", arguments: { path: root } });
    expect(probed.result.isError, textOf(probed.result)).toBeFalsy();

    const saved = await call("save_skill", {
      name: "read-report",
      description: "read a folder's report",
      code: READER,
    });
    expect(saved.result.isError, textOf(saved.result)).toBeFalsy();

    const good = path.join(root, "good");
    await mkdir(good);
    await writeFile(path.join(good, "report.txt"), "fine");
    // Round-robin sends the next calls to both instances: run until one lands on the instance that did not save.
    let elsewhere: { result: CallToolResult; upstream: string } | undefined;
    for (let attempt = 0; attempt < 6 && !elsewhere; attempt++) {
      const ran = await call("read-report", { folder: good });
      expect(ran.result.isError, textOf(ran.result)).toBeFalsy();
      if (ran.upstream !== saved.upstream) elsewhere = ran;
    }
    expect(elsewhere, "no run landed on the other instance").toBeDefined();
    expect((elsewhere?.result.structuredContent as Run | undefined)?.result).toEqual({
      listing: "[FILE] report.txt",
      report: "fine",
    });

    // A run fails (no report yet), the report appears, the run is resumed: until a resume lands on the other instance.
    let crossed = false;
    for (let attempt = 0; attempt < 6 && !crossed; attempt++) {
      const pending = path.join(root, `pending-${attempt}`);
      await mkdir(pending);
      const ran = await call("run_skill", { name: "read-report", input: { folder: pending } });
      const failed = ran.result.structuredContent as Run;
      expect(failed.ok).toBe(false);
      await writeFile(path.join(pending, "report.txt"), "late");
      const resumed = await call("run_skill", { resume: failed.runId });
      const view = resumed.result.structuredContent as Run;
      expect(view.ok, textOf(resumed.result)).toBe(true);
      expect(view.steps.map((s) => s.replayed)).toEqual([true, false]);
      // The listing is the failed run's, replayed: the folder was empty then.
      expect(view.result).toEqual({ listing: "", report: "late" });
      crossed = resumed.upstream !== ran.upstream;
    }
    expect(crossed, "no resume landed on the other instance").toBe(true);
    expect(new Set(servedBy).size).toBe(2);
  });

  it("logs one JSON object a line with --log-format json", () => {
    for (const instance of instances) {
      const lines = instance.log().trim().split("\n");
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines)
        expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
    }
  });
});
