import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunView,
  realServersWorkspace,
  removeDir,
  startGateway,
  type TestGateway,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

describe("the skill sandbox", () => {
  let dir: string;
  let root: string;
  let t: TestGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    dir = workspace.dir;
    root = workspace.root;
    t = await startGateway(
      {
        mcpServers: { ...workspace.servers, overlap: fixtureEntry("overlap-server") },
        skillsmith: {
          store: "file:state",
          sandbox: { timeoutMs: 1500, memoryMb: 16, maxCalls: 5, maxResultBytes: 2048 },
        },
      },
      dir,
    );
  });

  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  async function saveAndRun(name: string, code: string, input: Record<string, unknown> = {}) {
    const saved = await t.call("save_skill", { name, description: name, code });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    const run = await t.call("run_skill", { name, input });
    return { run, view: run.structuredContent as unknown as RunView, text: textOf(run) };
  }

  /** An empty folder of its own under the filesystem server's root, so no other test's files show in it. */
  async function folder(name: string): Promise<string> {
    const own = path.join(root, name);
    await mkdir(own);
    return own;
  }

  it("reaches nothing of Node: no process, require, fetch, imports — also not through constructors", async () => {
    const { view } = await saveAndRun(
      "escape",
      `export default async function run() {
        const viaFunction = Function("return typeof process")();
        const viaConstructor = (async () => {}).constructor("return typeof require")();
        const globalNames = Object.getOwnPropertyNames(globalThis).filter((n) => /^(process|require|fetch|module|Buffer|setTimeout|std|os|__\\w+)$/.test(n));
        let imported = "none";
        try { await import("node:fs"); imported = "yes"; } catch (e) { imported = String(e); }
        return { process: typeof process, require: typeof require, fetch: typeof fetch, viaFunction, viaConstructor: await viaConstructor, globalNames, imported };
      }`,
    );
    expect(view.ok).toBe(true);
    expect(view.result).toMatchObject({
      process: "undefined",
      require: "undefined",
      fetch: "undefined",
      viaFunction: "undefined",
      viaConstructor: "undefined",
      globalNames: [],
    });
    expect((view.result as { imported: string }).imported).toMatch(/could not load module/);
    const staticImport = await t.call("save_skill", {
      name: "imports-fs",
      description: "x",
      code: 'import fs from "fs"; export default async () => fs',
    });
    expect(textOf(staticImport)).toMatch(/could not load module 'fs'/);
  });

  it("gives every run a fresh runtime: what one run leaves on globalThis or the built-ins, the next never sees", async () => {
    const code = `export default async function run() {
      const seen = [typeof globalThis.leftOver, typeof Array.prototype.leftOver, JSON.stringify.leftOver ?? null];
      globalThis.leftOver = 1;
      Array.prototype.leftOver = () => 1;
      JSON.stringify.leftOver = "changed";
      return seen;
    }`;
    const saved = await t.call("save_skill", { name: "leave-traces", description: "traces", code });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    // More runs than workers, one after another: each worker runs the skill again and again.
    for (let i = 0; i < 6; i++) {
      const run = await t.call("run_skill", { name: "leave-traces" });
      expect((run.structuredContent as unknown as RunView).result, textOf(run)).toEqual([
        "undefined",
        "undefined",
        null,
      ]);
    }
  });

  it("stops an endless loop at the time limit, and the gateway keeps answering", async () => {
    const { view, text } = await saveAndRun("spin", "export default async function run() { for (;;) {} }");
    expect(view.ok).toBe(false);
    expect(view.limit).toBe("timeoutMs");
    expect(text).toMatch(/Limit timeoutMs exceeded/);
    const search = await t.call("search_tools", { query: "read a file" });
    expect(search.isError).toBeFalsy();
    const again = await saveAndRun("after-spin", "export default async () => 42");
    expect(again.view.result).toBe(42);
  });

  it("stops a run that breaks its memory, call or result limit, naming the limit", async () => {
    const memory = await saveAndRun(
      "hog",
      'export default async function run() { const a = []; for (;;) a.push({ n: a.length, s: "item " + a.length }); }',
    );
    expect(memory.view.limit).toBe("memoryBytes");
    const calls = await saveAndRun(
      "chatty",
      'export default async (i, { call }) => { for (let n = 0; n < 10; n++) await call("everything.echo", { message: "hi" + n }); }',
    );
    expect(calls.view.limit).toBe("maxCalls");
    expect(calls.text).toMatch(/limit of 5 tool calls/);
    const result = await saveAndRun("big", 'export default async () => "x".repeat(10000)');
    expect(result.view.limit).toBe("maxResultBytes");
  });

  it("runs overlapping calls in parallel: four calls are in flight at once", async () => {
    // Each call waits until four are in flight; calls made one at a time would each give up after maxMs.
    const { view, text } = await saveAndRun(
      "four-at-once",
      `export default async (i, { call, parallel }) =>
        parallel([1, 2, 3, 4], async () => (await call("overlap.gather", { count: 4, maxMs: 300 })).peak, { concurrency: 4 })`,
    );
    expect(view.ok, text).toBe(true);
    expect(view.result).toEqual([4, 4, 4, 4]);
  });

  it("resumes a failed run: completed steps are replayed, not called again", async () => {
    const code = `export default async function run(input, { call, step }) {
      const listing = await step("list the folder", () => call("files.list_directory", { path: input.root }));
      const text = await step("read the report", () => call("files.read_text_file", { path: input.root + "/report.txt" }));
      return { listing: listing.content, text: text.content };
    }`;
    const own = await folder("two-steps");
    const first = await saveAndRun("two-steps", code, { root: own });
    expect(first.view.ok).toBe(false);
    expect(first.view.failedStep).toEqual({ index: 1, label: "read the report" });
    expect(first.text).toContain(`"resume": "${first.view.runId}"`);
    expect(first.view.calls).toBe(2);

    await writeFile(path.join(own, "report.txt"), "all good");
    const resumed = await t.call("run_skill", { name: "two-steps", resume: first.view.runId });
    const view = resumed.structuredContent as unknown as RunView;
    expect(view.ok, textOf(resumed)).toBe(true);
    expect(view.resumedFrom).toBe(first.view.runId);
    expect(view.steps.map((s) => s.replayed)).toEqual([true, false]);
    expect(view.calls).toBe(1);
    // The listing was anchored before report.txt existed: replayed, not listed again.
    expect(view.result).toEqual({ listing: "", text: "all good" });
  });

  it("resumes steps run in parallel by their index, even when a later one completed before an earlier failed", async () => {
    const code = `export default async function run(input, { call, step }) {
      return Promise.all([
        step("a", () => call("everything.get-sum", { a: 1, b: 2 })),
        step("b", async () => {
          await call("everything.trigger-long-running-operation", { duration: 0.3, steps: 1 });
          return (await call("files.read_text_file", { path: input.root + "/late.txt" })).content;
        }),
        step("c", () => call("everything.get-sum", { a: 3, b: 4 })),
      ]);
    }`;
    const own = await folder("gappy");
    const first = await saveAndRun("gappy", code, { root: own });
    expect(first.view.ok).toBe(false);
    expect(first.view.failedStep).toEqual({ index: 1, label: "b" });
    await writeFile(path.join(own, "late.txt"), "late but here");
    const resumed = await t.call("run_skill", { name: "gappy", resume: first.view.runId });
    const view = resumed.structuredContent as unknown as RunView;
    expect(view.ok, textOf(resumed)).toBe(true);
    expect(view.result).toEqual(["The sum of 1 and 2 is 3.", "late but here", "The sum of 3 and 4 is 7."]);
    expect(view.steps.map((s) => [s.label, s.replayed])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ]);
  });

  it("stops a resume whose steps no longer match the record", async () => {
    const first = await saveAndRun(
      "diverges",
      'export default async (i, { step }) => { await step("a", () => 1); await step("b", () => { throw new Error("fail b"); }); }',
    );
    expect(first.view.ok).toBe(false);
    await t.call("save_skill", {
      name: "diverges",
      description: "x",
      overwrite: true,
      code: 'export default async (i, { step }) => { await step("renamed", () => 1); }',
    });
    const resumed = await t.call("run_skill", { name: "diverges", resume: first.view.runId });
    expect(resumed.isError).toBe(true);
    expect(textOf(resumed)).toMatch(
      /Cannot resume: step 0 is "renamed" in the code but "a" in the run record/,
    );
    const unknown = await t.call("run_skill", { name: "diverges", resume: "no-such-run" });
    expect(textOf(unknown)).toMatch(/No run "no-such-run"/);
  });

  it("sends a progress notification per step when asked", async () => {
    await t.call("save_skill", {
      name: "three-steps",
      description: "x",
      code: 'export default async (i, { step }) => { await step("one", () => 1); await step("two", () => 2); await step("three", () => 3); return 3; }',
    });
    const progress: string[] = [];
    await t.client.callTool({ name: "run_skill", arguments: { name: "three-steps" } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ""),
    });
    expect(progress).toEqual(['step 0 "one" done', 'step 1 "two" done', 'step 2 "three" done']);
  });
});
