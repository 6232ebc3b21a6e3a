import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerStatus } from "../../src/downstream/connection.js";
import { SkillsmithError } from "../../src/errors.js";
import type { SearchOutput } from "../../src/gateway.js";
import { realServerEntries, removeDir, tempDir, textOf } from "../helpers/gateway.js";
import { type LoggedGateway, startLoggedGateway } from "../helpers/logged-gateway.js";
import { fixtureEntry, missingCommand, waitFor } from "../helpers/processes.js";

/** hasty's call timeout, and the fixed delay before it starts: longer than the timeout however fast tsx is. */
const HASTY_TIMEOUT_MS = 100;
const HASTY_START_MS = 5 * HASTY_TIMEOUT_MS;

/**
 * A gateway in front of a real server (memory), a command that does not exist (ghost), a process that exits
 * before answering (dead), a server that crashes in the middle of a call (crashy) and one whose call timeout
 * is shorter than its start (hasty). Retries back off from 50 ms.
 */
describe("servers that fail to start or crash", () => {
  let dir: string;
  let t: LoggedGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startLoggedGateway(
      {
        mcpServers: {
          memory: realServerEntries(dir, path.join(dir, "memory.jsonl")).memory,
          ghost: missingCommand,
          dead: {
            command: process.execPath,
            args: ["-e", 'process.stderr.write("dead-fixture: refusing to start\\n", () => process.exit(3))'],
          },
          crashy: fixtureEntry("crash-server"),
          hasty: fixtureEntry("slow-start", [String(HASTY_START_MS), "crash-server"]),
        },
        skillsmith: { store: "memory:", servers: { hasty: { timeoutMs: HASTY_TIMEOUT_MS } } },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const status = (name: string): ServerStatus => {
    const found = t.gateway.status().find((s) => s.name === name);
    if (!found) throw new Error(`no status for ${name}`);
    return found;
  };

  /** The status of a server once seen failed (a retry may be under way at any one moment). */
  const failed = (name: string) =>
    waitFor(() => status(name).state === "failed" && status(name), `${name} failed`);

  it("settles with the failures reported, each with a reason, and the good server ready", async () => {
    expect(status("memory").state).toBe("ready");
    expect(status("crashy").state).toBe("ready");
    const ghost = await failed("ghost");
    expect(ghost.error).toMatch(/ENOENT|not found|spawn/i);
    expect(ghost.toolCount).toBe(0);
    const dead = await failed("dead");
    expect(dead.error).toBeTruthy();
    expect(dead.toolCount).toBe(0);
  });

  it("shows what a server that died at start wrote to stderr", async () => {
    await waitFor(() => status("dead").error?.includes("refusing to start"), "dead's stderr in its error");
  });

  it("logs each failing server by name", () => {
    expect(t.logs.some((l) => l.includes('"ghost"'))).toBe(true);
    expect(t.logs.some((l) => l.includes('"dead"'))).toBe(true);
  });

  it("keeps answering search with the tools of the servers that work", async () => {
    const result = await t.call("search_tools", { query: "store entities in the knowledge graph", limit: 3 });
    expect(result.isError).toBeFalsy();
    const output = result.structuredContent as unknown as SearchOutput;
    expect(output.results.map((r) => r.name)).toContain("memory.create_entities");
    const ghostOnly = await t.call("search_tools", { query: "anything", server: "ghost" });
    expect(ghostOnly.isError).toBeFalsy();
    expect((ghostOnly.structuredContent as unknown as SearchOutput).results).toEqual([]);
  });

  it("fails calls to a server that is down with SERVER_UNAVAILABLE, naming it", async () => {
    for (const server of ["ghost", "dead"]) {
      const error = await t.gateway.pool.call(server, "anything", {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SkillsmithError);
      expect(error).toMatchObject({ code: "SERVER_UNAVAILABLE", data: { server } });
      expect((error as Error).message).toContain(`"${server}"`);
      expect((error as Error).message).toContain("skillsmith doctor");
    }
  });

  it("keeps the other servers working", async () => {
    const result = await t.gateway.pool.call("memory", "read_graph", {});
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain("entities");
  });

  it("keeps retrying a server that fails to start, with backoff", async () => {
    const before = status("ghost").attempts;
    const later = await waitFor(() => {
      const s = status("ghost");
      return s.attempts >= before + 2 && s;
    }, "two more attempts on ghost");
    expect(later.state === "failed" || later.state === "connecting").toBe(true);
    if (later.state === "failed") expect(later.retryAt).toBeGreaterThan(0);
  });

  it("reports a crash in the middle of a call, then restarts the server", async () => {
    expect((await t.gateway.pool.call("crashy", "ping", {})).content).toEqual([
      { type: "text", text: "pong" },
    ]);
    const attempts = status("crashy").attempts;
    const error = await t.gateway.pool.call("crashy", "crash", {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CALL_FAILED", data: { tool: "crashy.crash" } });
    await waitFor(() => {
      const s = status("crashy");
      return s.state === "ready" && s.attempts > attempts;
    }, "crashy to be restarted");
    expect(t.logs.some((l) => l.includes('"crashy"') && /closed|exited|crash/.test(l))).toBe(true);
    expect((await t.gateway.pool.call("crashy", "ping", {})).content).toEqual([
      { type: "text", text: "pong" },
    ]);
    expect(status("memory").state).toBe("ready");
  });

  it("refuses a call to a server it does not know, listing the known ones", async () => {
    const error = await t.gateway.pool.call("github", "create_issue", {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TOOL_NOT_FOUND" });
    expect((error as Error).message).toContain("memory, ghost, dead, crashy, hasty");
  });

  it("gives a server slower to start than its call timeout the time to start", () => {
    expect(status("hasty")).toMatchObject({ state: "ready", attempts: 1 });
  });

  it("fails a call that outlives the server's timeoutMs, saying how to wait longer", async () => {
    const error = await t.gateway.pool.call("hasty", "sleep", { ms: 10_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CALL_FAILED", data: { tool: "hasty.sleep" } });
    expect((error as Error).message).toContain(`timed out after ${HASTY_TIMEOUT_MS} ms`);
    expect((error as Error).message).toContain("skillsmith.servers.hasty.timeoutMs");
  });
});
