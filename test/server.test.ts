import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, startGateway, type TestGateway, tempDir, textOf } from "./helpers/gateway.js";

const META_TOOLS = ["search_tools", "probe_tool", "save_skill", "run_skill"];

describe("the MCP server", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway({ mcpServers: {}, skillsmith: { store: "memory:" } }, dir);
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  it("lists exactly the four meta-tools, each with a title, an input schema and annotations", async () => {
    const { tools } = await t.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...META_TOOLS].sort());
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.inputSchema.type, tool.name).toBe("object");
      expect(Object.keys(tool.inputSchema.properties ?? {}).length, tool.name).toBeGreaterThan(0);
      expect(tool.annotations, tool.name).toBeDefined();
      expect(typeof tool.annotations?.readOnlyHint, tool.name).toBe("boolean");
    }
    expect(JSON.stringify(tools).length).toBeLessThanOrEqual(8000);
  });

  it("describes search_tools' input: a required query, limit, server, detail and explain", async () => {
    const { tools } = await t.client.listTools();
    const search = tools.find((tool) => tool.name === "search_tools");
    expect(search?.inputSchema.required).toEqual(["query"]);
    expect(Object.keys(search?.inputSchema.properties ?? {}).sort()).toEqual(
      ["detail", "explain", "limit", "query", "server"].sort(),
    );
    expect(search?.annotations?.readOnlyHint).toBe(true);
  });

  it("teaches the search → probe loop in its instructions", () => {
    const instructions = t.client.getInstructions() ?? "";
    expect(instructions).toContain("search_tools");
    expect(instructions).toContain("probe_tool");
    expect(instructions.indexOf("search_tools")).toBeLessThan(instructions.indexOf("probe_tool"));
  });

  it("names itself", () => {
    expect(t.client.getServerVersion()?.name).toBe("skillsmith");
  });

  it("answers a call to an unknown tool with a protocol error that points at search_tools", async () => {
    const call = t.client.callTool({ name: "files.read_file", arguments: {} });
    await expect(call).rejects.toBeInstanceOf(McpError);
    await expect(call).rejects.toThrow(/search_tools/);
  });

  it("answers invalid arguments with an isError result naming the field", async () => {
    const result = await t.call("search_tools", { query: "x", limit: "many" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("INVALID_ARGUMENTS");
    expect(textOf(result)).toMatch(/limit/);
  });

  it("refuses arguments search_tools does not know", async () => {
    const result = await t.call("search_tools", { query: "x", serverName: "files" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("serverName");
  });

  it("answers a search with no servers at all with an empty result, not an error", async () => {
    const result = await t.call("search_tools", { query: "read a file" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ results: [], total: 0 });
  });
});
