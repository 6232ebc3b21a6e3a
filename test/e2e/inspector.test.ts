import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realServers, removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, cliScript, missingCommand } from "../helpers/processes.js";

const require = createRequire(import.meta.url);

/**
 * The MCP Inspector's CLI mode against the built bin. Inspector 0.16 and later declare engines node >= 22;
 * 0.15.x is pinned as a devDependency because its --cli runs on Node 20 and needs no downloads.
 */
const inspectorCli = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/inspector/package.json")),
  "cli",
  "build",
  "cli.js",
);

function inspector(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [inspectorCli, ...args], { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** `--method tools/call` of one tool on `skillsmith serve -c <config>`; the inspector takes --config for itself. */
function callTool(config: string, cwd: string, tool: string, args: Record<string, string>) {
  const toolArgs = Object.entries(args).flatMap(([key, value]) => ["--tool-arg", `${key}=${value}`]);
  return inspector(
    [
      "--cli",
      process.execPath,
      cliScript,
      "serve",
      "-c",
      config,
      "--method",
      "tools/call",
      "--tool-name",
      tool,
      ...toolArgs,
    ],
    cwd,
  );
}

describe("@modelcontextprotocol/inspector --cli", () => {
  let dir: string;
  let config: string;

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-inspector-");
    config = path.join(dir, "mcp.json");
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: {
          everything: { command: process.execPath, args: [realServers.everything] },
          ghost: missingCommand,
        },
        skillsmith: { store: "memory:" },
      }),
    );
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("lists the four meta-tools with --method tools/list", async () => {
    // The inspector takes --config for itself, so Skillsmith's config goes by its short flag.
    const run = await inspector(
      ["--cli", process.execPath, cliScript, "serve", "-c", config, "--method", "tools/list"],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    const { tools } = JSON.parse(run.stdout) as { tools: Tool[] };
    expect(tools.map((t) => t.name).sort()).toEqual([
      "probe_tool",
      "run_skill",
      "save_skill",
      "search_tools",
    ]);
    for (const tool of tools) {
      expect(tool.title).toBeTruthy();
      expect(tool.inputSchema.type).toBe("object");
    }
  });

  it("calls search_tools with --method tools/call and gets its error result", async () => {
    const run = await callTool(config, dir, "search_tools", { query: "add two numbers", server: "nope" });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { isError?: boolean; content: Array<{ text: string }> };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toContain('Unknown server "nope"');
    expect(result.content[0]?.text).toContain("everything, ghost");
  });

  it("finds a downstream tool on the first call to a fresh folder, where the servers are still starting", async () => {
    const fresh = await tempDir("skillsmith-inspector-fresh-");
    try {
      const freshConfig = path.join(fresh, "mcp.json");
      await writeFile(
        freshConfig,
        JSON.stringify({
          mcpServers: { files: { command: process.execPath, args: [realServers.files, fresh] } },
        }),
      );
      const run = await callTool(freshConfig, fresh, "search_tools", { query: "read a text file" });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as { isError?: boolean; content: Array<{ text: string }> };
      expect(result.isError).toBeFalsy();
      expect(result.content[0]?.text).toContain("files.read_text_file");
    } finally {
      await removeDir(fresh);
    }
  });
});
