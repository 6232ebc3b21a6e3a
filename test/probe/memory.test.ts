import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realServers, removeDir, startGateway, tempDir } from "../helpers/gateway.js";

describe("observed shapes outlive the gateway", () => {
  let dir: string;
  const config = {
    mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
    skillsmith: { store: "file:state" },
  };

  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("a shape probed before a restart is shown by search after it, and a repeated probe is served from the store", async () => {
    const first = await startGateway(config, dir);
    const probe = await first.call("probe_tool", {
      tool: "everything.get-structured-content",
      arguments: { location: "Chicago" },
    });
    expect(probe.isError).toBeFalsy();
    await first.close();

    const second = await startGateway(config, dir);
    try {
      const found = await second.call("search_tools", {
        query: "structured content",
        server: "everything",
        detail: "full",
      });
      const hit = (
        found.structuredContent as { results: Array<{ name: string; returns?: string }> }
      ).results.find((r) => r.name === "everything.get-structured-content");
      expect(hit?.returns).toMatch(/temperature: number;/);
      const again = await second.call("probe_tool", {
        tool: "everything.get-structured-content",
        arguments: { location: "Chicago" },
      });
      expect((again.structuredContent as { cached: boolean }).cached).toBe(true);
    } finally {
      await second.close();
    }
  });
});
