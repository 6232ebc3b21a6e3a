import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir, textOf } from "../helpers/gateway.js";
import { assertBuilt, cliScript, descendants, fixtureEntry, isAlive, waitFor } from "../helpers/processes.js";

/**
 * The built bin, stopped while it works: SIGTERM (or the end of stdin) with calls in flight, over stdio and
 * HTTP, and servers that would outlive it (one ignores the end of its stdin, one runs behind an npx-like wrapper).
 */
describe("skillsmith serve shutting down", () => {
  let dir: string;
  const started: ChildProcess[] = [];
  const clients: Client[] = [];
  /** Servers a test watched: a failing test must not leave them running. */
  const watched: number[] = [];

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-shutdown-");
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close().catch(() => {})));
    for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const pid of watched.splice(0)) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  /** An mcp.json with the bulky fixture (its sleeps counted in a file) and `extra` servers; returns its paths. */
  async function writeConfig(
    name: string,
    skillsmith: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) {
    const calls = path.join(dir, `${name}.calls`);
    const config = path.join(dir, `${name}.json`);
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: { bulky: fixtureEntry("bulky-server", ["--calls-file", calls]), ...extra },
        skillsmith: { store: "memory:", servers: { bulky: { probe: "any" } }, ...skillsmith },
      }),
    );
    return { config, calls };
  }

  const sleepsStarted = (calls: string) => {
    try {
      return readFileSync(calls, "utf8").split("\n").filter(Boolean).length;
    } catch {
      return 0;
    }
  };

  /** Probes bulky.sleep for `ms`; `fresh`, so three alike are three calls. */
  const sleep = (client: Client, ms: number) =>
    client.callTool({
      name: "probe_tool",
      arguments: { tool: "bulky.sleep", arguments: { ms }, allowSideEffects: true, fresh: true },
    }) as Promise<CallToolResult>;

  async function serveStdio(config: string) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cliScript, "serve", "--config", config],
      cwd: dir,
      stderr: "pipe",
    });
    const log = { text: "" };
    transport.stderr?.on("data", (chunk: Buffer) => {
      log.text += chunk.toString("utf8");
    });
    const client = new Client({ name: "shutdown", version: "0" });
    clients.push(client);
    await client.connect(transport);
    const pid = transport.pid;
    if (pid === null) throw new Error("no pid for the gateway");
    return { client, pid, log };
  }

  async function serveHttp(config: string) {
    const child = spawn(process.execPath, [cliScript, "serve", "--http", "--port", "0", "--config", config], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    started.push(child);
    const log = { text: "" };
    child.stderr?.on("data", (chunk: Buffer) => {
      log.text += chunk.toString("utf8");
    });
    const url = await waitFor(() => /at (http:\/\/\S+\/mcp)/.exec(log.text)?.[1], "the gateway's URL");
    const client = new Client({ name: "shutdown", version: "0" });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    return { client, child, url, log };
  }

  /** Gone: no such process, or a zombie waiting for a parent that is not ours to reap it. */
  const gone = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
    } catch {
      return true;
    }
  };

  /** The gateway has taken the signal: it logs the requests it waits for. */
  const draining = (log: { text: string }) =>
    waitFor(() => log.text.includes("shutting down"), "the drain to start");

  // Windows has no catchable SIGTERM: process.kill ends the process there; the end of stdin is its way.
  const posix = process.platform !== "win32";

  it.runIf(posix)(
    "answers the calls in flight at SIGTERM within the grace, refusing new ones, then exits",
    async () => {
      const { config, calls } = await writeConfig("finish", {});
      const { client, pid, log } = await serveStdio(config);
      const answers = Promise.allSettled([sleep(client, 1500), sleep(client, 1600), sleep(client, 1700)]);
      await waitFor(() => sleepsStarted(calls) === 3, "three calls in flight");
      process.kill(pid, "SIGTERM");
      await draining(log);
      const late = await client
        .callTool({ name: "search_tools", arguments: { query: "sleep" } })
        .catch((e) => e);
      expect(String(late)).toMatch(/shutting down and takes no new requests/);
      const results = await answers;
      expect(results.map((r) => r.status === "fulfilled" && !r.value.isError && textOf(r.value))).toEqual([
        expect.stringContaining("awake"),
        expect.stringContaining("awake"),
        expect.stringContaining("awake"),
      ]);
      await waitFor(() => !isAlive(pid), "skillsmith to exit");
    },
  );

  it.runIf(posix)(
    "answers the calls still in flight after the grace with an error naming the setting",
    async () => {
      const { config, calls } = await writeConfig("cut", { shutdownGraceMs: 300 });
      const { client, pid } = await serveStdio(config);
      const answers = Promise.allSettled([
        sleep(client, 60_000),
        sleep(client, 60_001),
        sleep(client, 60_002),
      ]);
      await waitFor(() => sleepsStarted(calls) === 3, "three calls in flight");
      process.kill(pid, "SIGTERM");
      const results = await answers;
      for (const result of results) {
        expect(result.status).toBe("rejected");
        expect(String((result as PromiseRejectedResult).reason)).toMatch(
          /shut down.*skillsmith\.shutdownGraceMs/,
        );
      }
      await waitFor(() => !isAlive(pid), "skillsmith to exit");
    },
  );

  it("answers the calls in flight when the client closes stdin, then exits", async () => {
    const { config, calls } = await writeConfig("eof", {});
    const child = spawn(process.execPath, [cliScript, "serve", "--config", config], {
      cwd: dir,
      stdio: ["pipe", "pipe", "ignore"],
    });
    started.push(child);
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    const send = (message: object) =>
      child.stdin?.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    send({
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    });
    send({ method: "notifications/initialized" });
    for (const id of [1, 2, 3]) {
      send({
        id,
        method: "tools/call",
        params: {
          name: "probe_tool",
          arguments: {
            tool: "bulky.sleep",
            arguments: { ms: 1000 + id },
            allowSideEffects: true,
            fresh: true,
          },
        },
      });
    }
    await waitFor(() => sleepsStarted(calls) === 3, "three calls in flight");
    child.stdin?.end();
    await waitFor(() => child.exitCode !== null, "skillsmith to exit");
    const answers = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id?: number; result?: CallToolResult });
    for (const id of [1, 2, 3]) {
      const answer = answers.find((message) => message.id === id);
      expect(answer?.result?.isError).toBeFalsy();
      expect(answer?.result && textOf(answer.result)).toContain("awake");
    }
    expect(child.exitCode).toBe(0);
  });

  it.runIf(posix)(
    "over HTTP, finishes what fits in the grace and answers the rest with an error",
    async () => {
      const { config, calls } = await writeConfig("http", { shutdownGraceMs: 2000 });
      const { client, child, url, log } = await serveHttp(config);
      const answers = Promise.allSettled([sleep(client, 300), sleep(client, 301), sleep(client, 60_000)]);
      await waitFor(() => sleepsStarted(calls) === 3, "three calls in flight");
      child.kill("SIGTERM");
      await draining(log);
      const newcomer = new Client({ name: "late", version: "0" });
      const refused = await newcomer.connect(new StreamableHTTPClientTransport(new URL(url))).catch((e) => e);
      expect(String(refused)).toMatch(/shutting down and takes no new sessions/);
      const [first, second, cut] = await answers;
      for (const done of [first, second]) {
        expect(done?.status === "fulfilled" && textOf(done.value)).toContain("awake");
      }
      expect(cut?.status).toBe("rejected");
      expect(String((cut as PromiseRejectedResult).reason)).toMatch(/shut down.*skillsmith\.shutdownGraceMs/);
      await waitFor(() => child.exitCode !== null, "skillsmith to exit");
      expect(child.exitCode).toBe(0);
    },
  );

  describe.skipIf(process.platform !== "linux")("servers that would outlive the gateway", () => {
    /** A server that ignores the end of its stdin, alone and behind an npx-like wrapper; each writes its pid. */
    const stubborn = (name: string) => {
      const server = (pidFile: string) =>
        fixtureEntry("bulky-server", ["--ignore-eof", "--pid-file", path.join(dir, `${name}.${pidFile}`)]);
      const inner = server("wrapped");
      return {
        stubborn: server("stubborn"),
        wrapped: fixtureEntry("npx-wrapper", [inner.command, ...inner.args]),
      };
    };

    /** Every descendant of the gateway once both stubborn servers serve, the wrapper's server among them. */
    async function servers(name: string, pid: number) {
      const pids = await waitFor(() => {
        try {
          return ["stubborn", "wrapped"].map((server) =>
            Number(readFileSync(path.join(dir, `${name}.${server}`), "utf8")),
          );
        } catch {
          return false;
        }
      }, "both stubborn servers to serve");
      const found = await descendants(pid);
      expect(found).toEqual(expect.arrayContaining(pids));
      watched.push(...found);
      return found;
    }

    it("leaves none behind after SIGTERM", async () => {
      const { config } = await writeConfig("stubborn-term", {}, stubborn("stubborn-term"));
      const { pid } = await serveStdio(config);
      const children = await servers("stubborn-term", pid);
      process.kill(pid, "SIGTERM");
      await waitFor(() => !isAlive(pid), "skillsmith to exit");
      await waitFor(() => children.every(gone), "every server to exit");
    });

    it("leaves none behind when the gateway is killed outright", async () => {
      const { config } = await writeConfig("stubborn-kill", {}, stubborn("stubborn-kill"));
      const { pid } = await serveStdio(config);
      const children = await servers("stubborn-kill", pid);
      process.kill(pid, "SIGKILL");
      await waitFor(() => children.every(gone), "every server to exit");
    });
  });
});
