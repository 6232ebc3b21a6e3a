import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  realServersWorkspace,
  removeDir,
  startGateway,
  type TestGateway,
  textOf,
} from "../helpers/gateway.js";

/** `.ci/run` installs Debian's redis-server; without it these tests cannot run, and say so. */
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasRedis)("two gateway instances sharing a Redis store and a skills folder", () => {
  let dir: string;
  let root: string;
  let redis: ChildProcess;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    dir = workspace.dir;
    root = workspace.root;
    const port = await freePort();
    redis = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve) => {
      redis.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("Ready to accept connections")) resolve();
      });
    });
    const config = {
      mcpServers: workspace.servers,
      skillsmith: { store: `redis://127.0.0.1:${port}`, registryDir: "registry" },
    };
    a = await startGateway(config, dir, { serving: true });
    b = await startGateway(config, dir, { serving: true });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    redis?.kill();
    await removeDir(dir);
  });

  /** Saves a skill on A that lists a folder, then reads its report.txt; resolves once B lists it too. */
  async function saveReader(name: string): Promise<void> {
    const announced = new Promise<void>((resolve) =>
      b.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        if ((await b.client.listTools()).tools.some((t) => t.name === name)) resolve();
      }),
    );
    const saved = await a.call("save_skill", {
      name,
      description: "read the report",
      code: `export default async (input, { call, step }) => {
        const listing = await step("list", () => call("files.list_directory", { path: input.root }));
        const report = await step("read", () => call("files.read_text_file", { path: input.root + "/report.txt" }));
        return { listing: listing.content, report: report.content };
      }`,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    await announced;
  }

  it("a skill saved on one instance becomes a tool on the other", async () => {
    await saveReader("shared-read");
    expect((await b.client.listTools()).tools.map((t) => t.name)).toContain("shared-read");
  });

  it("a run that failed on one instance resumes on the other", async () => {
    await saveReader("resume-read");
    const folder = path.join(root, "resume");
    await mkdir(folder);
    const failed = await a.call("resume-read", { root: folder });
    const view = failed.structuredContent as { ok: boolean; runId: string };
    expect(view.ok).toBe(false);
    await writeFile(path.join(folder, "report.txt"), "shared");
    const resumed = await b.call("run_skill", { name: "resume-read", resume: view.runId });
    const after = resumed.structuredContent as {
      ok: boolean;
      steps: Array<{ replayed: boolean }>;
      result: unknown;
    };
    expect(after.ok, textOf(resumed)).toBe(true);
    expect(after.steps.map((s) => s.replayed)).toEqual([true, false]);
    expect(after.result).toEqual({ listing: "", report: "shared" });
  });

  it("a shape learnt on one instance shows in the other's search", async () => {
    const probe = await a.call("probe_tool", {
      tool: "everything.get-structured-content",
      arguments: { location: "Chicago" },
    });
    expect(probe.isError, textOf(probe)).toBeFalsy();
    const found = await b.call("search_tools", {
      query: "structured content weather",
      server: "everything",
      limit: 3,
    });
    const hit = (
      found.structuredContent as { results: Array<{ name: string; returns?: string }> }
    ).results.find((r) => r.name === "everything.get-structured-content");
    expect(hit?.returns).toMatch(/temperature: number/);
  });
});
