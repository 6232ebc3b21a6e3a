import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import { realServerEntries, removeDir, tempDir, textOf } from "../helpers/gateway.js";
import {
  assertBuilt,
  cliScript,
  descendants,
  isAlive,
  missingCommand,
  waitFor,
} from "../helpers/processes.js";

/**
 * The acceptance run of issue 2, as a new user would try it: the built bin serves an mcp.json with
 * server-filesystem on a temp folder, server-memory, server-everything and a command that does not exist,
 * and an SDK client talks to it over stdio.
 */
describe("skillsmith serve over stdio", () => {
  let dir: string;
  let config: string;
  let client: Client;
  const stderr: string[] = [];
  const protocolErrors: Error[] = [];

  /** Starts the built bin on the config and connects a client to it over stdio, keeping its stderr and errors. */
  async function connect(kept?: { stderr: string[]; errors: Error[] }) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cliScript, "serve", "--config", config],
      cwd: dir,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => kept?.stderr.push(chunk.toString("utf8")));
    const connected = new Client({ name: "e2e", version: "0" });
    connected.onerror = (error) => kept?.errors.push(error);
    await connected.connect(transport);
    return { client: connected, transport };
  }

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-e2e-");
    config = path.join(dir, "mcp.json");
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: { ...realServerEntries(dir, path.join(dir, "memory.jsonl")), ghost: missingCommand },
      }),
    );
    ({ client } = await connect({ stderr, errors: protocolErrors }));
  });
  afterAll(async () => {
    await client?.close();
    await removeDir(dir);
  });

  const search = async (args: Record<string, unknown>) => {
    const result = (await client.callTool({ name: "search_tools", arguments: args })) as CallToolResult;
    return { result, output: result.structuredContent as unknown as SearchOutput, text: textOf(result) };
  };

  it("lists the four meta-tools and none of the downstream tools, in at most 8000 chars", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "probe_tool",
      "run_skill",
      "save_skill",
      "search_tools",
    ]);
    expect(JSON.stringify(tools).length).toBeLessThanOrEqual(8000);
    expect(client.getInstructions()).toMatch(/search_tools[\s\S]*probe_tool/);
  });

  it.each([
    ["write text into a file", "files.write_file"],
    ["store entities in the knowledge graph", "memory.create_entities"],
    ["add two numbers together", "everything.get-sum"],
    ["show the folder tree of a directory", "files.directory_tree"],
    ["find nodes in memory matching a query", "memory.search_nodes"],
  ])("search_tools puts the right tool in the top 3 for %j", async (query, expected) => {
    // No snapshot exists on the first start, so wait for the server to connect.
    const names = await waitFor(async () => {
      const { result, output } = await search({ query, limit: 3 });
      expect(result.isError).toBeFalsy();
      const found = output.results.map((r) => r.name);
      return found.includes(expected) && found;
    }, `${expected} in the top 3`);
    expect(names.length).toBeLessThanOrEqual(3);
  });

  it("answers a blank query and an unknown server with clear errors", async () => {
    const blank = await search({ query: "  " });
    expect(blank.result.isError).toBe(true);
    expect(blank.text).toMatch(/query/);
    const unknown = await search({ query: "read a file", server: "github" });
    expect(unknown.result.isError).toBe(true);
    expect(unknown.text).toMatch(/files.*memory.*everything.*ghost/);
  });

  it('returns only files tools for server: "files"', async () => {
    const { output } = await search({ query: "read a file", server: "files", limit: 20 });
    expect(output.results.length).toBeGreaterThan(0);
    expect(output.results.every((r) => r.server === "files")).toBe(true);
  });

  it("logs the missing server on stderr and keeps stdout for the protocol", async () => {
    await waitFor(() => stderr.join("").includes('"ghost"'), "a log line about ghost");
    expect(protocolErrors).toEqual([]);
  });

  it.skipIf(process.platform !== "linux")("closes every child when the client goes away", async () => {
    // A gateway of its own, so the other tests keep theirs whatever order the tests run in.
    const own = await connect();
    const pid = own.transport.pid;
    expect(pid).toBeTypeOf("number");
    const children = await waitFor(async () => {
      const found = await descendants(pid as number);
      return found.length >= 3 && found;
    }, "the three servers to start");
    await own.client.close();
    await waitFor(() => !isAlive(pid as number), "skillsmith to exit");
    await waitFor(() => children.every((child) => !isAlive(child)), "every child to exit");
  });
});
