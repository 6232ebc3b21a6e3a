import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import type { ProbeResult } from "../../src/probe/prober.js";
import { removeDir, startGateway, type TestGateway, tempDir, textOf } from "../helpers/gateway.js";
import { fixtureEntry, hangingServer, missingCommand, waitFor } from "../helpers/processes.js";

/**
 * Calls to a server that is still connecting wait for it, bounded by skillsmith.startupWaitMs; a server that
 * failed answers at once with its reason; a server back from a crash is waited for too.
 */
describe("waiting for servers that are still connecting", () => {
  let dir: string;
  let stuck: TestGateway;
  let crashing: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    stuck = await startGateway(
      {
        mcpServers: { slow: hangingServer(path.join(dir, "slow.pid")), ghost: missingCommand },
        skillsmith: { store: "memory:", startupWaitMs: 300, searchWaitMs: 300 },
      },
      dir,
      { wait: false },
    );
    crashing = await startGateway(
      { mcpServers: { crashy: fixtureEntry("crash-server") }, skillsmith: { store: "memory:" } },
      dir,
    );
  });
  afterAll(async () => {
    await stuck?.close();
    await crashing?.close();
    await removeDir(dir);
  });

  it("gives up on a server that never finishes connecting after startupWaitMs, naming the setting", async () => {
    const result = await stuck.call("probe_tool", { tool: "slow.anything", arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("SERVER_UNAVAILABLE");
    expect(textOf(result)).toContain("still connecting after 300 ms");
    expect(textOf(result)).toContain("skillsmith.startupWaitMs");
  });

  it("answers a search after searchWaitMs, saying which server is still connecting", async () => {
    const result = await stuck.call("search_tools", { query: "anything at all", server: "slow" });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as unknown as SearchOutput).connecting).toEqual(["slow"]);
    expect(textOf(result)).toContain("slow is still connecting");
  });

  it("answers at once with the reason for a server that failed to start", async () => {
    await waitFor(() => stuck.gateway.status().find((s) => s.name === "ghost")?.state === "failed", "ghost");
    const result = await stuck.call("probe_tool", { tool: "ghost.anything", arguments: {} });
    expect(textOf(result)).toContain("SERVER_UNAVAILABLE");
    expect(textOf(result)).toMatch(/ENOENT|not found|spawn/i);
    expect(textOf(result)).not.toContain("still connecting after");
  });

  it("waits for a server coming back from a crash instead of failing the call", async () => {
    const crash = await crashing.call("probe_tool", {
      tool: "crashy.crash",
      arguments: {},
      allowSideEffects: true,
    });
    expect(textOf(crash)).toContain("PROBE_REFUSED");
    const failed = await crashing.gateway.pool.call("crashy", "crash", {}).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "CALL_FAILED" });
    // No wait for the restart: the call itself waits for the server to be back.
    const ping = await crashing.call("probe_tool", { tool: "crashy.ping", arguments: {}, fresh: true });
    expect(ping.isError, textOf(ping)).toBeFalsy();
    expect((ping.structuredContent as unknown as ProbeResult).sample).toBe("pong");
  });
});
