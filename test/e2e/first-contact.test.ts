import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import type { ProbeResult } from "../../src/probe/prober.js";
import { serveOverStdio } from "../helpers/cli.js";
import { type RunView, realServersWorkspace, removeDir, textOf } from "../helpers/gateway.js";
import { assertBuilt } from "../helpers/processes.js";

/**
 * A new user's first minute: the built bin on a fresh folder (no snapshots, no state), called over stdio
 * the moment the client has connected — no sleep, no waiting for servers — then restarted and called at once.
 */
describe("first contact: calls made the moment the gateway starts", () => {
  let dir: string;
  let root: string;
  let config: string;

  beforeAll(async () => {
    assertBuilt();
    const workspace = await realServersWorkspace();
    ({ dir, root } = workspace);
    await writeFile(path.join(root, "notes.txt"), "hello");
    config = path.join(dir, "mcp.json");
    await writeFile(config, JSON.stringify({ mcpServers: workspace.servers }));
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  const start = () => serveOverStdio(config, dir, "first-contact");
  const call = async (client: Client, name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;

  it("searches, probes and saves at once on a cold start, and runs the skill at once after a restart", async () => {
    expect(existsSync(path.join(dir, "registry"))).toBe(false);
    const cold = await start();
    try {
      const found = await call(cold, "search_tools", {
        query: "list the files of a directory",
        server: "files",
        limit: 3,
      });
      const names = (found.structuredContent as unknown as SearchOutput).results.map((r) => r.name);
      expect(names).toContain("files.list_directory");

      const probed = await call(cold, "probe_tool", {
        tool: "files.list_directory",
        arguments: { path: root },
      });
      expect(probed.isError).toBeFalsy();
      expect(JSON.stringify((probed.structuredContent as unknown as ProbeResult).sample)).toContain(
        "notes.txt",
      );

      const saved = await call(cold, "save_skill", {
        name: "add-up",
        description: "Adds two numbers with the everything server.",
        code: 'export default async (input, { call, step }) => step("sum", () => call("everything.get-sum", input));',
        inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
        test: { input: { a: 2, b: 3 } },
      });
      expect(saved.isError, textOf(saved)).toBeFalsy();
    } finally {
      await cold.close();
    }

    // The restart finds snapshots now, so it answers before "everything" is back: the run waits for it.
    expect(existsSync(path.join(dir, "registry", "everything.json"))).toBe(true);
    const warm = await start();
    try {
      const ran = await call(warm, "run_skill", { name: "add-up", input: { a: 20, b: 22 } });
      expect(ran.isError, textOf(ran)).toBeFalsy();
      expect(JSON.stringify((ran.structuredContent as unknown as RunView).result)).toContain("42");
    } finally {
      await warm.close();
    }
  });
});
