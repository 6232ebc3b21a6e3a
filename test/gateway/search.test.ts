import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import {
  realServerEntries,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";

/** search_tools over the three real servers, through an MCP client, as an agent would use it. */
describe("search_tools over files, memory and everything", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway(
      {
        mcpServers: realServerEntries(dir, path.join(dir, "memory.jsonl")),
        skillsmith: { store: "memory:" },
      },
      dir,
    );
    expect(t.gateway.status().map((s) => [s.name, s.state])).toEqual([
      ["files", "ready"],
      ["memory", "ready"],
      ["everything", "ready"],
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const search = async (args: Record<string, unknown>) => {
    const result: CallToolResult = await t.call("search_tools", args);
    return { result, output: result.structuredContent as unknown as SearchOutput, text: textOf(result) };
  };

  it.each([
    ["write text into a file", "files.write_file"],
    ["store entities in the knowledge graph", "memory.create_entities"],
    ["add two numbers together", "everything.get-sum"],
    ["show the folder tree of a directory", "files.directory_tree"],
    ["find nodes in memory matching a query", "memory.search_nodes"],
  ])("puts the right tool in the top 3 for %j", async (query, expected) => {
    const { result, output } = await search({ query, limit: 3 });
    expect(result.isError).toBeFalsy();
    expect(output.results.map((r) => r.name)).toContain(expected);
  });

  it("ranks by descending score and says how many matched in all", async () => {
    const { output, text } = await search({ query: "read a file", limit: 5 });
    expect(output.results.length).toBeGreaterThan(1);
    const scores = output.results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(output.total).toBeGreaterThanOrEqual(output.results.length);
    expect(text).toContain(output.results[0]?.name);
    expect(text).toContain(`of ${output.total}`);
  });

  it("refuses a blank query, naming the query", async () => {
    for (const query of ["", "   "]) {
      const { result, text } = await search({ query });
      expect(result.isError).toBe(true);
      expect(text).toContain("INVALID_ARGUMENTS");
      expect(text).toMatch(/query/);
    }
  });

  it("refuses an unknown server, listing the known ones", async () => {
    const { result, text } = await search({ query: "read a file", server: "github" });
    expect(result.isError).toBe(true);
    expect(text).toContain("TOOL_NOT_FOUND");
    expect(text).toContain('"github"');
    for (const known of ["files", "memory", "everything"]) expect(text).toContain(known);
  });

  it('returns only files tools for server: "files"', async () => {
    const { output } = await search({ query: "read write list search create", server: "files", limit: 50 });
    expect(output.results.length).toBeGreaterThan(3);
    for (const r of output.results) {
      expect(r.server).toBe("files");
      expect(r.name.startsWith("files.")).toBe(true);
    }
    const everywhere = await search({ query: "read write list search create", limit: 50 });
    expect(new Set(everywhere.output.results.map((r) => r.server)).size).toBeGreaterThan(1);
  });

  it("returns at most `limit` results, 8 by default", async () => {
    const query = "file directory entities numbers";
    const one = await search({ query, limit: 1 });
    expect(one.output.results).toHaveLength(1);
    expect(one.output.total).toBeGreaterThan(1);
    const byDefault = await search({ query });
    expect(byDefault.output.results).toHaveLength(8);
    const many = await search({ query, limit: 50 });
    expect(many.output.results.length).toBe(Math.min(50, many.output.total));
  });

  it.each([0, 51, 2.5])("refuses limit %j", async (limit) => {
    const { result, text } = await search({ query: "read a file", limit });
    expect(result.isError).toBe(true);
    expect(text).toMatch(/limit/);
  });

  it('gives names only at detail "name"', async () => {
    const { output } = await search({ query: "write text into a file", detail: "name", limit: 3 });
    expect(output.results.length).toBeGreaterThan(0);
    for (const r of output.results) {
      expect(r).toMatchObject({ kind: "tool", name: expect.any(String), server: expect.any(String) });
      expect(r).not.toHaveProperty("description");
      expect(r).not.toHaveProperty("params");
      expect(r).not.toHaveProperty("inputSchema");
    }
  });

  it('gives short descriptions and one-line params at detail "summary" (the default)', async () => {
    const { output, text } = await search({ query: "write text into a file", server: "files", limit: 50 });
    expect(output.results.some((r) => (t.gateway.catalog.get(r.name)?.description.length ?? 0) > 200)).toBe(
      true,
    );
    for (const r of output.results) {
      expect(r.description?.length, r.name).toBeLessThanOrEqual(200);
      expect(r.params, r.name).not.toContain("\n");
      expect(r).not.toHaveProperty("inputSchema");
      expect(r.annotations).toBeDefined();
    }
    const writeFile = output.results.find((r) => r.name === "files.write_file");
    expect(writeFile?.params).toMatch(/(^|, )path: string(,|$)/);
    expect(writeFile?.params).toMatch(/(^|, )content: string(,|$)/);
    expect(writeFile?.annotations).toMatchObject({ readOnlyHint: false });
    const tree = (await search({ query: "directory tree", server: "files", limit: 3 })).output.results.find(
      (r) => r.name === "files.directory_tree",
    );
    expect(tree?.params).toMatch(/\w+\?: string\[\]/);
    expect(text).toMatch(/params: .*path: string/);
  });

  it('gives the whole description and inputSchema at detail "full"', async () => {
    const { output } = await search({ query: "write text into a file", detail: "full", limit: 3 });
    const hit = output.results.find((r) => r.name === "files.write_file");
    const record = t.gateway.catalog.get("files.write_file");
    expect(hit?.inputSchema).toEqual(record?.inputSchema);
    expect(hit?.inputSchema).toMatchObject({ type: "object", properties: { path: {}, content: {} } });
    expect(hit?.description).toBe(record?.description);
  });

  it("keeps tools/list to the four meta-tools while downstream servers are connected", async () => {
    const { tools } = await t.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ["probe_tool", "run_skill", "save_skill", "search_tools"].sort(),
    );
    expect(JSON.stringify(tools).length).toBeLessThanOrEqual(8000);
    expect(t.gateway.catalog.tools().length).toBeGreaterThan(20);
  });
});
