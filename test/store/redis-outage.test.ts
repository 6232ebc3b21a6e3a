import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realServersWorkspace, removeDir, textOf } from "../helpers/gateway.js";
import { type LoggedGateway, startLoggedGateway } from "../helpers/logged-gateway.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

if (!hasRedis) console.warn("redis-server is not installed: the Redis outage test is skipped");

describe.skipIf(!hasRedis)("a gateway whose Redis store goes down", () => {
  let dir: string;
  let redis: TestRedis;
  let t: LoggedGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    dir = workspace.dir;
    redis = await startRedis();
    t = await startLoggedGateway(
      { mcpServers: { everything: workspace.servers.everything }, skillsmith: { store: redis.url } },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    await removeDir(dir);
  });

  it("keeps answering search_tools and probe_tool without the cache, and says why a resume cannot be done", async () => {
    const failed = await t.call("run_skill", {
      code: `export default async (input, { call, step }) => {
        await step("add", () => call("everything.get-sum", { a: 1, b: 2 }));
        throw new Error("stop here");
      }`,
    });
    expect(failed.isError).toBe(true);
    const { runId } = failed.structuredContent as { runId: string };
    await redis.stop();

    for (const location of ["New York", "Chicago", "Los Angeles"]) {
      const probe = await t.call("probe_tool", {
        tool: "everything.get-structured-content",
        arguments: { location },
      });
      expect(probe.isError, textOf(probe)).toBeFalsy();
    }
    const found = await t.call("search_tools", { query: "add two numbers", limit: 3 });
    expect(found.isError, textOf(found)).toBeFalsy();
    expect(textOf(found)).toMatch(/everything\.get-sum/);

    const resumed = await t.call("run_skill", { resume: runId });
    expect(resumed.isError).toBe(true);
    expect(textOf(resumed)).toContain(`the store ${redis.url} failed`);
    expect(t.logs.some((l) => l.includes("answering without it"))).toBe(true);
  }, 30_000);
});
