import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunView,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

/** A gateway in front of the overlap fixture, which counts how many of its calls are in flight at once. */
describe("per-server concurrency", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway(
      {
        mcpServers: { overlap: fixtureEntry("overlap-server") },
        skillsmith: { store: "memory:", servers: { overlap: { concurrency: 2 } } },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  it("lets no more than `concurrency` calls through to a server at once, and as many as that", async () => {
    // Six calls at once, each waiting (at most maxMs) for all six to be in flight: the server must see two at a time.
    const saved = await t.call("save_skill", {
      name: "six-at-once",
      description: "six overlapping calls",
      code: `export default async (i, { call, parallel }) =>
        parallel([1, 2, 3, 4, 5, 6], async () => (await call("overlap.gather", { count: 6, maxMs: 200 })).peak, { concurrency: 6 })`,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    const run = await t.call("run_skill", { name: "six-at-once" });
    const view = run.structuredContent as unknown as RunView;
    expect(view.ok, textOf(run)).toBe(true);
    expect(Math.max(...(view.result as number[]))).toBe(2);
  });
});
