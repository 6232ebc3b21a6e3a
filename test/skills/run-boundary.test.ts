/**
 * What crosses the sandbox boundary, tried as an attacker would: hostile skills and a hostile server. Each must fail
 * its own run (or call) only, stop at a budget named in the error, and leave nothing going out after the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunView,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry, waitFor } from "../helpers/processes.js";

const CONFIGURED_TIMEOUT_MS = 4000;

describe("the run boundary", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway(
      {
        mcpServers: { hostile: fixtureEntry("hostile-server") },
        skillsmith: {
          store: "memory:",
          // Four slots: one tool may hold three. A hold that is never released fails within 5 s, not 60.
          servers: { hostile: { concurrency: 4, timeoutMs: 5000 } },
          sandbox: {
            timeoutMs: CONFIGURED_TIMEOUT_MS,
            maxStepBytes: 1_000_000,
            maxLogBytes: 100_000,
            maxLogLines: 50,
            maxCallBytes: 200_000,
          },
        },
      },
      dir,
    );
  });

  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  async function run(code: string, extra: Record<string, unknown> = {}) {
    const result = await t.call("run_skill", { code, ...extra });
    return { view: result.structuredContent as unknown as RunView, text: textOf(result) };
  }

  async function stillServing() {
    const search = await t.call("search_tools", { query: "release held calls" });
    expect(search.isError, textOf(search)).toBeFalsy();
  }

  const tally = async () =>
    (await run('export default async (i, { call }) => call("hostile.tally", {})')).view.result as {
      arrived: number;
      cancelled: number;
    };

  it("keeps the host's JSON when a skill replaces JSON.stringify and JSON.parse (also in save_skill's test run)", async () => {
    const code = `export default async (i, { step, call }) => {
      JSON.stringify = () => "not json {";
      JSON.parse = () => ({ hijacked: true });
      const kept = await step("after the swap", () => ({ kept: [1, 2] }));
      const tally = await call("hostile.tally", {});
      return { kept, arrived: typeof tally.arrived };
    }`;
    const { view, text } = await run(code);
    expect(view.ok, text).toBe(true);
    expect(view.result).toEqual({ kept: { kept: [1, 2] }, arrived: "number" });
    const saved = await t.call("save_skill", {
      name: "swaps-json",
      description: "x",
      code,
      test: { input: {} },
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    await stillServing();
  });

  it("fails only the call that gets an answer nested 20,000 levels deep", async () => {
    const caught = await run(`export default async (i, { call }) => {
      try { await call("hostile.deep", { levels: 20000 }); return "no error"; }
      catch (e) { return e.message; }
    }`);
    expect(caught.view.ok, caught.text).toBe(true);
    expect(caught.view.result).toMatch(/hostile\.deep answered with data nested deeper than 256 levels/);
    // Within the bound, deep data crosses whole: 256 levels, the outermost at depth 0.
    const within = await run(`export default async (i, { call }) => {
      let depth = 0;
      for (let v = await call("hostile.deep", { levels: 256 }); Array.isArray(v); v = v[0]) depth++;
      return depth;
    }`);
    expect(within.view.result, within.text).toBe(256);
    const uncaught = await run(
      'export default async (i, { call }) => call("hostile.deep", { levels: 20000 })',
    );
    expect(uncaught.view.ok).toBe(false);
    expect(uncaught.view.error).toMatch(/nested deeper than 256 levels/);
    await stillServing();
  });

  it("stops a run whose step values outgrow maxStepBytes, keeping the steps within it", async () => {
    const { view, text } = await run(`export default async (i, { step }) => {
      const big = "x".repeat(300000);
      for (let n = 0; n < 60; n++) await step("big " + n, () => big);
    }`);
    expect(view.ok).toBe(false);
    expect(view.limit).toBe("maxStepBytes");
    expect(text).toMatch(/Limit maxStepBytes exceeded: .* raise skillsmith\.sandbox\.maxStepBytes/);
    expect(view.steps.map((s) => s.label)).toEqual(["big 0", "big 1", "big 2"]);
    // Endless tiny steps count too: the record keeps something of each.
    const tiny = await run('export default async (i, { step }) => { for (;;) await step("tiny", () => 1); }');
    expect(tiny.view.limit, tiny.text).toBe("maxStepBytes");
    await stillServing();
  });

  it("stops a log flood at maxLogLines, and huge lines at maxLogBytes", async () => {
    const lines = await run('export default async (i, { log }) => { for (;;) log("again"); }');
    expect(lines.view.limit, lines.text).toBe("maxLogLines");
    expect(lines.view.logs.length).toBeLessThanOrEqual(50);
    const bytes = await run(
      'export default async (i, { log }) => { for (let n = 0; n < 300; n++) log("x".repeat(60000)); }',
    );
    expect(bytes.view.limit, bytes.text).toBe("maxLogBytes");
    expect(bytes.view.logs.every((line) => line.length <= 1000)).toBe(true);
    await stillServing();
  });

  it("stops a run whose call arguments or answer outgrow maxCallBytes, naming the tool", async () => {
    const answer = await run('export default async (i, { call }) => call("hostile.big", { chars: 300000 })');
    expect(answer.view.limit, answer.text).toBe("maxCallBytes");
    expect(answer.view.error).toMatch(/the answer of hostile\.big/);
    const args = await run(
      'export default async (i, { call }) => call("hostile.tally", { pad: "x".repeat(300000) })',
    );
    expect(args.view.limit, args.text).toBe("maxCallBytes");
    expect(args.view.error).toMatch(/the arguments of hostile\.tally/);
    const name = await run('export default async (i, { call }) => call("x".repeat(300000), {})');
    expect(name.view.error, name.text).toMatch(/no tool is named "x{40}…" \(300000 characters\)/);
  });

  it("clamps a run's timeoutMs to the configured limit, and says so", async () => {
    const { view, text } = await run("export default async () => { for (;;) {} }", { timeoutMs: 3_600_000 });
    expect(view.limit, text).toBe("timeoutMs");
    expect(view.error).toContain(`time limit of ${CONFIGURED_TIMEOUT_MS} ms`);
    expect(view.warnings).toEqual([
      `timeoutMs was lowered to ${CONFIGURED_TIMEOUT_MS} ms, the configured limit (skillsmith.sandbox.timeoutMs); a run may only ask for less.`,
    ]);
  });

  it("cancels a failed run's calls: none reach the server after the answer, those in flight are cancelled", async () => {
    const before = await tally();
    const { view, text } = await run(
      `export default async (i, { call }) => {
        await Promise.all(Array.from({ length: 20 }, () => call("hostile.hold", {})));
      }`,
      { timeoutMs: 1500 },
    );
    expect(view.limit, text).toBe("timeoutMs");
    const atAnswer = await tally();
    // Three of four slots go to one tool; the other seventeen calls were queued when the run ended.
    expect(atAnswer.arrived - before.arrived).toBe(3);
    await waitFor(
      async () => (await tally()).cancelled - before.cancelled === 3,
      "the held calls to be cancelled",
    );
    expect((await tally()).arrived).toBe(atAnswer.arrived);
  });

  it("leaves a tool's hung calls only their share of the server's slots", async () => {
    // Four holds (one more than a tool may hold) would take every slot; release must still get through.
    const { view, text } = await run(`export default async (i, { call }) => {
      const holds = [1, 2, 3, 4].map(() => call("hostile.hold", {}));
      const { released } = await call("hostile.release", { count: 3 });
      return { released, first: await Promise.race(holds) };
    }`);
    expect(view.ok, text).toBe(true);
    expect(view.result).toEqual({ released: 3, first: "released" });
    await stillServing();
  });
});
