/**
 * The served gateway's last resort: a fault that escapes every handler is logged and the gateway keeps serving.
 * The fault is injected into the real `skillsmith serve` process (a preloaded module throws, or rejects, when the
 * process gets SIGUSR2 or SIGWINCH), since no known input reaches it any more.
 */
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../helpers/gateway.js";
import { repoRoot, waitFor } from "../helpers/processes.js";

const require = createRequire(import.meta.url);

const FAULTS = `process.on("SIGUSR2", () => { throw new Error("injected fault"); });
process.on("SIGWINCH", () => { Promise.reject(new Error("injected rejection")); });`;

describe("the served gateway's last resort", () => {
  let dir: string;
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = "";

  beforeAll(async () => {
    dir = await tempDir();
    const config = path.join(dir, "mcp.json");
    await writeFile(config, JSON.stringify({ mcpServers: {}, skillsmith: { store: "memory:" } }));
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        "--import",
        pathToFileURL(require.resolve("tsx")).href,
        "--import",
        `data:text/javascript,${encodeURIComponent(FAULTS)}`,
        path.join(repoRoot, "src", "cli.ts"),
        "serve",
        "--config",
        config,
      ],
      cwd: dir,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    client = new Client({ name: "test", version: "0" });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    await removeDir(dir);
  });

  /** The serve process; never 0, which would signal this test's own process group. */
  const servePid = () => {
    const pid = transport.pid;
    if (!pid) throw new Error("the serve process has no pid");
    return pid;
  };

  const answers = async () => {
    const result = await client.callTool({ name: "search_tools", arguments: { query: "anything" } });
    expect(result.isError).toBeFalsy();
  };

  it("logs an uncaught exception and keeps answering", async () => {
    await answers();
    process.kill(servePid(), "SIGUSR2");
    await waitFor(() => stderr.includes("uncaught exception, kept serving"), "the fault to be logged");
    expect(stderr).toContain("injected fault");
    await answers();
  });

  it("logs an unhandled rejection and keeps answering", async () => {
    process.kill(servePid(), "SIGWINCH");
    await waitFor(
      () => stderr.includes("unhandled promise rejection, kept serving"),
      "the rejection to be logged",
    );
    expect(stderr).toContain("injected rejection");
    await answers();
  });
});
