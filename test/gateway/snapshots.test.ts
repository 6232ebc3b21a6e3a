import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/catalog/snapshots.js";
import type { SearchOutput } from "../../src/gateway.js";
import {
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { startLoggedGateway } from "../helpers/logged-gateway.js";
import { hangingServer, isAlive, missingCommand, waitFor } from "../helpers/processes.js";

async function readSnapshot(file: string): Promise<Snapshot> {
  return JSON.parse(await readFile(file, "utf8")) as Snapshot;
}

const names = (output: SearchOutput) => output.results.map((r) => r.name);

describe("a server still connecting, with no snapshot", () => {
  it("says so instead of only answering that nothing matches", async () => {
    const dir = await tempDir();
    const t = await startGateway(
      {
        mcpServers: { slow: hangingServer(path.join(dir, "pid")) },
        skillsmith: { store: "memory:", searchWaitMs: 0 },
      },
      dir,
      { wait: false },
    );
    try {
      const result = await t.call("search_tools", { query: "send an email" });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as unknown as SearchOutput).connecting).toEqual(["slow"]);
      expect(textOf(result)).toMatch(/slow is still connecting; search again in a moment/);
    } finally {
      await t.close();
      await removeDir(dir);
    }
  });
});

describe("registry snapshots", () => {
  let dir: string;
  let registryDir: string;
  const toolCounts = new Map<string, number>();

  beforeAll(async () => {
    dir = await tempDir();
    registryDir = path.join(dir, "registry");
    const first = await startGateway(
      {
        mcpServers: {
          everything: { command: process.execPath, args: [realServers.everything] },
          memory: {
            command: process.execPath,
            args: [realServers.memory],
            env: { MEMORY_FILE_PATH: path.join(dir, "memory.jsonl") },
          },
        },
        skillsmith: { store: "memory:" },
      },
      dir,
    );
    for (const s of first.gateway.status()) toolCounts.set(s.name, s.toolCount);
    await first.close();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("writes registryDir/<server>.json for each server after it lists its tools", async () => {
    for (const server of ["everything", "memory"]) {
      const snapshot = await readSnapshot(path.join(registryDir, `${server}.json`));
      expect(snapshot.server).toBe(server);
      expect(Number.isNaN(Date.parse(snapshot.savedAt))).toBe(false);
      expect(snapshot.tools.length).toBe(toolCounts.get(server));
      expect(snapshot.tools.length).toBeGreaterThan(0);
      for (const record of snapshot.tools) {
        expect(record.server).toBe(server);
        expect(record.name).toBe(`${server}.${record.tool}`);
        expect(record.hash).toMatch(/^[0-9a-f]{8,}$/);
      }
    }
    const everything = await readSnapshot(path.join(registryDir, "everything.json"));
    expect(everything.tools.map((r) => r.name)).toContain("everything.get-sum");
  });

  it("answers search from the snapshots at once, while servers are unavailable or still connecting", async () => {
    const pidFile = path.join(dir, "hanging.pid");
    const t: TestGateway = await startGateway(
      {
        mcpServers: { everything: missingCommand, memory: hangingServer(pidFile) },
        skillsmith: { store: "memory:" },
      },
      dir,
      { wait: false },
    );
    try {
      const sum = await t.call("search_tools", { query: "add two numbers together", limit: 3 });
      expect(names(sum.structuredContent as unknown as SearchOutput)).toContain("everything.get-sum");
      const entities = await t.call("search_tools", {
        query: "store entities in the knowledge graph",
        limit: 3,
      });
      expect(names(entities.structuredContent as unknown as SearchOutput)).toContain(
        "memory.create_entities",
      );
      // The memory server has started but never answers: the answer above cannot have come from it.
      await waitFor(
        async () => isAlive(Number(await readFile(pidFile, "utf8"))),
        "the hanging server to start",
      );
      expect(t.gateway.status().find((s) => s.name === "memory")?.state).toBe("connecting");

      await waitFor(
        () => t.gateway.status().find((s) => s.name === "everything")?.state === "failed",
        "everything to fail",
      );
      const still = await t.call("search_tools", { query: "add two numbers together", limit: 3 });
      expect(names(still.structuredContent as unknown as SearchOutput)).toContain("everything.get-sum");
      await expect(t.gateway.pool.call("everything", "get-sum", { a: 1, b: 2 })).rejects.toMatchObject({
        code: "SERVER_UNAVAILABLE",
      });
    } finally {
      await t.close();
    }
    const snapshot = await readSnapshot(path.join(registryDir, "everything.json"));
    expect(snapshot.tools.length).toBe(toolCounts.get("everything"));
    const pid = Number(await readFile(pidFile, "utf8"));
    await waitFor(() => !isAlive(pid), "the hanging server to be gone after close");
  });

  it("replaces a stale snapshot with the live listing", async () => {
    const staleDir = path.join(dir, "stale");
    await mkdir(path.join(staleDir, "registry"), { recursive: true });
    const fresh = await readSnapshot(path.join(registryDir, "memory.json"));
    const ancient = {
      ...fresh.tools[0],
      name: "memory.ancient_tool",
      tool: "ancient_tool",
      hash: "0123456789abcdef",
    };
    await writeFile(
      path.join(staleDir, "registry", "memory.json"),
      JSON.stringify({ ...fresh, tools: [ancient] }),
    );
    const t = await startGateway(
      {
        mcpServers: {
          memory: {
            command: process.execPath,
            args: [realServers.memory],
            env: { MEMORY_FILE_PATH: path.join(staleDir, "memory.jsonl") },
          },
        },
        skillsmith: { store: "memory:" },
      },
      staleDir,
      { wait: false },
    );
    try {
      // start() has loaded the snapshot and only begun connecting: the catalog is the snapshot's.
      expect(t.gateway.catalog.tools("memory").map((r) => r.name)).toEqual(["memory.ancient_tool"]);
      await t.gateway.settled();
      const live = t.gateway.catalog.tools("memory").map((r) => r.name);
      expect(live).toContain("memory.create_entities");
      expect(live).not.toContain("memory.ancient_tool");
    } finally {
      await t.close();
    }
    const rewritten = await readSnapshot(path.join(staleDir, "registry", "memory.json"));
    expect(rewritten.tools.map((r) => r.name)).toContain("memory.create_entities");
    expect(rewritten.tools.map((r) => r.name)).not.toContain("memory.ancient_tool");
  });

  it("ignores a snapshot that is not valid, and says so", async () => {
    const brokenDir = path.join(dir, "broken");
    await mkdir(path.join(brokenDir, "registry"), { recursive: true });
    await writeFile(
      path.join(brokenDir, "registry", "ghost.json"),
      '{"server": "ghost", "tools": [{"name": 1}]}',
    );
    const t = await startLoggedGateway(
      { mcpServers: { ghost: missingCommand }, skillsmith: { store: "memory:" } },
      brokenDir,
    );
    try {
      expect(t.gateway.catalog.tools("ghost")).toEqual([]);
      const result = await t.call("search_tools", { query: "anything at all", server: "ghost" });
      expect(result.isError).toBeFalsy();
      expect(t.logs.some((w) => w.includes("ghost.json"))).toBe(true);
    } finally {
      await t.close();
    }
  });
});
