import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import {
  type RunView,
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";

/** Adds a and b with everything.get-sum, which answers a sentence ("The sum of 2 and 3 is 5."). */
const SUM_PAIR = `export default async function run(input, { call, step }) {
  const text = await step("add", () => call("everything.get-sum", { a: input.a, b: input.b }));
  return Number(/is (-?[\\d.]+)\\.$/.exec(text)[1]);
}`;

const PAIR_SCHEMA = {
  type: "object",
  properties: { a: { type: "number" }, b: { type: "number" } },
  required: ["a", "b"],
};

/** Calls `pair` on two pairs at once, then keeps both sums as an entity of the memory server. */
const sumAndStore = (pair: string) => `export default async function run(input, { call, step, parallel }) {
  const sums = await step("sum both pairs", () =>
    parallel([input.first, input.second], (p) => call("${pair}", { a: p[0], b: p[1] })));
  await step("store", () => call("memory.create_entities", {
    entities: [{ name: input.name, entityType: "sums", observations: sums.map(String) }],
  }));
  return { sums, total: sums[0] + sums[1] };
}`;

/** Writes one new file into input.folder + "/marks" per mark step, then needs input.folder/go.txt. */
const THREE_STEPS = `export default async function run(input, { call, step }) {
  const mark = (n) => call("files.write_file", {
    path: input.folder + "/marks/" + n + "-" + Math.random().toString(36).slice(2) + ".txt", content: "ran" });
  await step("mark 1", () => mark(1));
  await step("mark 2", () => mark(2));
  return step("check", () => call("files.read_text_file", { path: input.folder + "/go.txt" }));
}`;

const FOLDER_SCHEMA = { type: "object", properties: { folder: { type: "string" } }, required: ["folder"] };

/**
 * Skills that call skills, through an MCP client over the real everything, memory and filesystem servers: nested
 * steps in the run record, resume through nested skills, cycles, depth, pins, annotations and policy.
 */
describe("skills that call skills", () => {
  let dir: string;
  let root: string;
  let memoryDir: string;
  let t: TestGateway;
  let counter = 0;
  /** A name of its own for each test's skills, so tests share no skill and run in any order. */
  const unique = (base: string) => `${base}-${++counter}`;

  beforeAll(async () => {
    dir = await tempDir();
    root = path.join(dir, "root");
    memoryDir = path.join(dir, "memory");
    await mkdir(root, { recursive: true });
    await mkdir(memoryDir, { recursive: true });
    const servers = {
      files: { command: process.execPath, args: [realServers.files, root] },
      memory: {
        command: process.execPath,
        args: [realServers.memory],
        env: { MEMORY_FILE_PATH: path.join(memoryDir, "memory.jsonl") },
      },
      everything: { command: process.execPath, args: [realServers.everything] },
    };
    t = await startGateway(
      { mcpServers: servers, skillsmith: { store: "memory:", sandbox: { maxDepth: 3 } } },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  async function save(name: string, code: string, extra: Record<string, unknown> = {}) {
    const saved = await t.call("save_skill", { name, description: `test skill ${name}`, code, ...extra });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    return saved;
  }
  const viewOf = (result: { structuredContent?: unknown }) => result.structuredContent as unknown as RunView;

  it("runs a skill that calls a skill twice in parallel, its steps under the outer step, with the real sums", async () => {
    const pair = unique("sum-pair");
    const outer = unique("sum-and-store");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA, test: { input: { a: 1, b: 2 } } });
    const saved = await save(outer, sumAndStore(pair));
    expect(saved.structuredContent).toMatchObject({ skills: { [pair]: 1 }, tools: ["memory.create_entities"] });

    const ran = await t.call(outer, { first: [2, 3], second: [10, -4], name: "sums-a" });
    expect(ran.isError, textOf(ran)).toBeFalsy();
    const view = viewOf(ran);
    expect(view.result).toEqual({ sums: [5, 6], total: 11 });
    expect(view.steps.map((s) => s.label)).toEqual(["sum both pairs", "store"]);
    const children = view.steps[0]?.children ?? [];
    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(child).toMatchObject({ skill: pair, version: 1, status: "ok" });
      expect(child.steps).toMatchObject([{ index: 0, label: "add", replayed: false, shape: "string" }]);
    }
    expect(view.tools).toEqual(["everything.get-sum", "memory.create_entities"]);
    // Two skill calls, two sums, one store.
    expect(view.calls).toBe(5);
    const text = textOf(ran);
    expect(text).toContain(`step 0 "sum both pairs"`);
    expect(text).toContain(`↳ skill ${pair} v1 {"a":2,"b":3}: ok`);
    expect(text).toMatch(/ {6}step 0 "add" \d+ ms → string/);
  });

  it("resumes a run that failed after its nested skills: their steps are replayed, not called again", async () => {
    const pair = unique("sum-pair");
    const outer = unique("sum-and-store");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    await save(outer, sumAndStore(pair));

    await rm(memoryDir, { recursive: true, force: true });
    const failed = await t.call(outer, { first: [1, 1], second: [2, 2], name: "sums-b" });
    expect(failed.isError).toBe(true);
    const failedView = viewOf(failed);
    expect(failedView.failedStep).toEqual({ index: 1, label: "store" });
    expect(failedView.steps[0]?.children).toHaveLength(2);

    await mkdir(memoryDir, { recursive: true });
    const resumed = await t.call("run_skill", { resume: failedView.runId });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    const view = viewOf(resumed);
    expect(view.result).toEqual({ sums: [2, 4], total: 6 });
    expect(view.steps[0]).toMatchObject({ label: "sum both pairs", replayed: true });
    // The nested steps are shown as replayed, and get-sum was not called at all.
    for (const child of view.steps[0]?.children ?? []) expect(child.steps[0]?.replayed).toBe(true);
    expect(view.steps[0]?.children).toHaveLength(2);
    expect(view.tools).toEqual(["memory.create_entities"]);
    expect(view.calls).toBe(1);
  });

  it("resumes a run that failed in a nested skill's third step there, without its first two again", async () => {
    const inner = unique("three-steps");
    const outer = unique("outer");
    const folder = path.join(root, outer);
    await mkdir(path.join(folder, "marks"), { recursive: true });
    await save(inner, THREE_STEPS, { inputSchema: FOLDER_SCHEMA });
    await save(
      outer,
      `export default async function run(input, { call, step }) {
  const before = await step("before", () => call("everything.echo", { message: "hi" }));
  const checked = await step("nested", () => call("${inner}", { folder: input.folder }));
  return { before, checked };
}`,
    );

    const failed = await t.call(outer, { folder });
    expect(failed.isError).toBe(true);
    const failedView = viewOf(failed);
    expect(failedView.error).toContain(`Skill "${inner}" failed in its step 2 "check"`);
    expect(failedView.failedStep).toEqual({ index: 1, label: "nested" });
    expect(failedView.steps[1]).toMatchObject({ label: "nested", open: true });
    expect(failedView.steps[1]?.children?.[0]).toMatchObject({ skill: inner, status: "failed" });
    expect(failedView.steps[1]?.children?.[0]?.steps.map((s) => s.label)).toEqual(["mark 1", "mark 2"]);
    expect(textOf(failed)).toContain(`step 1 "nested" (did not complete)`);
    expect(await readdir(path.join(folder, "marks"))).toHaveLength(2);

    await writeFile(path.join(folder, "go.txt"), "go");
    const resumed = await t.call("run_skill", { resume: failedView.runId });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    const view = viewOf(resumed);
    expect(view.result).toMatchObject({ checked: { content: "go" } });
    const nested = view.steps[1]?.children?.[0];
    expect(nested?.steps.map((s) => [s.label, s.replayed])).toEqual([
      ["mark 1", true],
      ["mark 2", true],
      ["check", false],
    ]);
    // The marks were not written again: still two files, and only the check was called.
    expect(await readdir(path.join(folder, "marks"))).toHaveLength(2);
    expect(view.tools).toEqual(["files.read_text_file"]);
  });
});
