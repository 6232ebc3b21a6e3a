import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import { removeDir, startGateway, type TestGateway, tempDir } from "../helpers/gateway.js";
import { fixtureEntry, waitFor } from "../helpers/processes.js";

/** A fixture server with 25 gadgets and add_tool (26 tools), listed 10 per page. */
describe("a server that pages its tools and changes them", () => {
  let dir: string;
  let t: TestGateway;

  const startPaged = (at: string) =>
    startGateway(
      {
        mcpServers: { paged: fixtureEntry("paged-server", ["--tools", "25", "--page-size", "10"]) },
        skillsmith: { store: "memory:" },
      },
      at,
    );

  beforeAll(async () => {
    dir = await tempDir();
    t = await startPaged(dir);
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const search = async (args: Record<string, unknown>, on = t) =>
    (await on.call("search_tools", args)).structuredContent as unknown as SearchOutput;

  it("lists every page", async () => {
    const status = t.gateway.status().find((s) => s.name === "paged");
    expect(status).toMatchObject({ state: "ready", toolCount: 26 });
    const names = t.gateway.catalog.tools("paged").map((r) => r.name);
    expect(names).toHaveLength(26);
    expect(names).toContain("paged.gadget_01");
    expect(names).toContain("paged.gadget_25");
    expect(names).toContain("paged.add_tool");
    const found = await search({ query: "fixture gadget", server: "paged", limit: 50 });
    expect(found.total).toBe(25);
  });

  it("follows tools/list_changed: a tool added at run time becomes searchable", async () => {
    // Its own gateway and server: the tool it adds must not show up in the other test's listing.
    const own = await tempDir();
    const changing = await startPaged(own);
    try {
      const query = "count the quokkas on the island";
      expect((await search({ query, limit: 3 }, changing)).results.map((r) => r.name)).not.toContain(
        "paged.quokka_counter",
      );
      const answer = await changing.gateway.pool.call("paged", "add_tool", {
        name: "quokka_counter",
        description: "Count the quokkas living on an island.",
      });
      expect(answer.isError).toBeFalsy();
      const found = await waitFor(async () => {
        const { results } = await search({ query, limit: 3 }, changing);
        return results.some((r) => r.name === "paged.quokka_counter") && results;
      }, "the new tool to be searchable");
      expect(found[0]?.name).toBe("paged.quokka_counter");
      expect(changing.gateway.status().find((s) => s.name === "paged")?.toolCount).toBe(27);
      await waitFor(async () => {
        const snapshot = JSON.parse(await readFile(path.join(own, "registry", "paged.json"), "utf8")) as {
          tools: Array<{ name: string }>;
        };
        return snapshot.tools.length === 27 && snapshot.tools.some((r) => r.name === "paged.quokka_counter");
      }, "the snapshot to hold the new tool");
    } finally {
      await changing.close();
      await removeDir(own);
    }
  });
});
