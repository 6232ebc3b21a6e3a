import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import { runCli, serveOverStdio } from "../helpers/cli.js";
import { type RunView, realServerEntries, removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, repoRoot, waitFor } from "../helpers/processes.js";

interface GraphLine {
  type: "entity" | "relation";
  name?: string;
  entityType?: string;
  observations?: string[];
  from?: string;
  to?: string;
  relationType?: string;
}

/**
 * The example skills shipped in skills/, run as a new user would run them: a copy of the folder beside an
 * mcp.json with the same three servers as the bundled one (files, memory, everything; here from node_modules,
 * with files on a temp root and memory in a temp file), through the built bin and an MCP client.
 */
describe("the example skills in skills/", () => {
  let dir: string;
  let root: string;
  let config: string;
  let memoryFile: string;

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-examples-");
    root = path.join(dir, "root");
    memoryFile = path.join(dir, "memory.jsonl");
    await cp(path.join(repoRoot, "skills"), path.join(dir, "skills"), { recursive: true });
    await mkdir(path.join(root, "notes", "archive"), { recursive: true });
    await writeFile(
      path.join(root, "notes", "plan.md"),
      "# Launch plan\n\nShip the examples.\nWrite the tests.\n",
    );
    await writeFile(path.join(root, "notes", "shopping.txt"), "Groceries\napples pears plums\n");
    // Neither a text file by its ending nor a file at all: both must be left out.
    await writeFile(path.join(root, "notes", "data.csv"), "a,b\n1,2\n");
    await writeFile(path.join(root, "notes", "archive", "old.md"), "# Old\n");
    config = path.join(dir, "mcp.json");
    await writeFile(
      config,
      JSON.stringify({ mcpServers: realServerEntries(root, memoryFile), skillsmith: { store: "memory:" } }),
    );
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  const graph = async (): Promise<GraphLine[]> =>
    (await readFile(memoryFile, "utf8"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as GraphLine);

  /** The run's result, which `skillsmith run` prints last, after "result: " (arrays past 3 items come trimmed). */
  const resultOf = (stdout: string): unknown => JSON.parse(stdout.slice(stdout.indexOf("\nresult: ") + 9));

  it("are listed by `skillsmith skills` with the tools they call", async () => {
    const run = await runCli(["skills", "--config", config], dir);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("remember-folder "))).toMatch(
      /v1 .*files\.list_directory, files\.read_text_file, memory\.create_entities, memory\.create_relations/,
    );
    expect(lines.find((l) => l.startsWith("sum-pairs "))).toMatch(/v1 .*everything\.get-sum/);
  });

  it("remember-folder stores each text file of a folder as an entity in memory, once", async () => {
    const run = await runCli(
      ["run", "remember-folder", "--input", '{"folder": "notes"}', "--config", config],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    // A warning here would mean the pins in skills/*.json no longer match the servers' real definitions.
    expect(run.stdout).not.toContain("warning:");
    expect(run.stdout).toMatch(/\(4 steps, 5 calls\)/);
    for (const label of [
      "list the folder",
      "read the text files",
      "store the folder and its files as entities",
      "link the folder to its files",
    ]) {
      expect(run.stderr).toContain(`"${label}" done`);
    }
    expect(resultOf(run.stdout)).toEqual({
      folder: "notes",
      files: [
        { path: "notes/plan.md", title: "Launch plan", lines: 3, words: 9 },
        { path: "notes/shopping.txt", title: "Groceries", lines: 2, words: 4 },
      ],
      added: ["notes", "notes/plan.md", "notes/shopping.txt"],
    });
    const stored = await graph();
    expect(stored.filter((l) => l.type === "entity")).toEqual([
      { type: "entity", name: "notes", entityType: "folder", observations: ["holds 2 text files"] },
      {
        type: "entity",
        name: "notes/plan.md",
        entityType: "text file",
        observations: ["title: Launch plan", "3 non-empty lines, 9 words"],
      },
      {
        type: "entity",
        name: "notes/shopping.txt",
        entityType: "text file",
        observations: ["title: Groceries", "2 non-empty lines, 4 words"],
      },
    ]);
    expect(stored.filter((l) => l.type === "relation")).toEqual([
      { type: "relation", from: "notes", to: "notes/plan.md", relationType: "contains" },
      { type: "relation", from: "notes", to: "notes/shopping.txt", relationType: "contains" },
    ]);

    const again = await runCli(
      ["run", "remember-folder", "--input", '{"folder": "notes"}', "--config", config],
      dir,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(resultOf(again.stdout)).toMatchObject({ added: [] });
    expect(await graph()).toEqual(stored);
  });

  it("sum-pairs adds each pair with everything.get-sum", async () => {
    const input = {
      pairs: [
        [1, 2],
        [3.5, -1],
        [-7, 2],
      ],
    };
    const run = await runCli(["run", "sum-pairs", "--input", JSON.stringify(input), "--config", config], dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain("warning:");
    expect(run.stdout).toMatch(/\(1 steps, 3 calls\)/);
    expect(resultOf(run.stdout)).toEqual({ sums: [3, 2.5, -5], total: 0.5 });
  });

  it("sum-pairs refuses an input that does not fit its schema, calling nothing", async () => {
    const run = await runCli(["run", "sum-pairs", "--input", '{"pairs": [[1]]}', "--config", config], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Invalid input for skill "sum-pairs"/);
    expect(run.stderr).not.toContain("done in");
  });

  it("are tools of their own for an MCP client of `skillsmith serve`", async () => {
    // A registry folder of its own: with no snapshot in it, search finds everything.get-sum only once
    // everything has connected, so the call below cannot meet a server still starting.
    const serveConfig = path.join(dir, "serve.json");
    await writeFile(
      serveConfig,
      JSON.stringify({
        mcpServers: realServerEntries(root, memoryFile),
        skillsmith: { store: "memory:", registryDir: "serve-registry" },
      }),
    );
    const client = await serveOverStdio(serveConfig, dir, "examples");
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["remember-folder", "sum-pairs"]));
      await waitFor(async () => {
        const found = await client.callTool({
          name: "search_tools",
          arguments: { query: "add two numbers" },
        });
        const { results } = found.structuredContent as unknown as SearchOutput;
        return results.some((r) => r.name === "everything.get-sum");
      }, "everything.get-sum to be found");
      // More pairs than the concurrency bound: the calls overlap and may finish in any order.
      const pairs = Array.from({ length: 9 }, (_, i) => [i, i * 10]);
      const result = (await client.callTool({
        name: "sum-pairs",
        arguments: { pairs, concurrency: 3 },
      })) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      const view = result.structuredContent as unknown as RunView;
      expect(view.ok).toBe(true);
      expect(view.calls).toBe(9);
      expect(view.result).toEqual({ sums: pairs.map(([a, b]) => (a ?? 0) + (b ?? 0)), total: 396 });
      expect(view.steps.map((s) => s.label)).toEqual(["add each pair"]);
    } finally {
      await client.close();
    }
  });
});
