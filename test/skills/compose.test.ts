import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import { runCli } from "../helpers/cli.js";
import {
  type RunView,
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { assertBuilt } from "../helpers/processes.js";

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
    expect(saved.structuredContent).toMatchObject({
      skills: { [pair]: 1 },
      tools: ["memory.create_entities"],
    });
    const meta = JSON.parse(await readFile(path.join(dir, "skills", `${outer}.json`), "utf8"));
    expect(meta).toMatchObject({
      skills: { [pair]: 1 },
      tools: { "memory.create_entities": expect.any(String) },
    });

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

  it("places nested calls from parallel steps under their own step, after an await too, and resumes each", async () => {
    const inner = unique("three-steps");
    const outer = unique("outer-parallel");
    const folders = [path.join(root, `${outer}-a`), path.join(root, `${outer}-b`)];
    for (const folder of folders) await mkdir(path.join(folder, "marks"), { recursive: true });
    await writeFile(path.join(folders[0] as string, "go.txt"), "go a");
    await save(inner, THREE_STEPS, { inputSchema: FOLDER_SCHEMA });
    await save(
      outer,
      `export default async function run(input, { call, step, parallel }) {
  return parallel(input.folders, (folder, i) => step("folder " + i, async () => {
    await call("everything.echo", { message: folder });
    return call("${inner}", { folder });
  }));
}`,
    );
    const failed = await t.call(outer, { folders });
    expect(failed.isError).toBe(true);
    // Each nested call is under the step that made it, though it was made after an await.
    const [first, second] = viewOf(failed).steps;
    expect(first?.children?.map((c) => [c.input, c.status])).toEqual([
      [JSON.stringify({ folder: folders[0] }), "ok"],
    ]);
    expect(second?.children?.map((c) => [c.input, c.status])).toEqual([
      [JSON.stringify({ folder: folders[1] }), "failed"],
    ]);
    await writeFile(path.join(folders[1] as string, "go.txt"), "go b");
    const resumed = await t.call("run_skill", { resume: viewOf(failed).runId });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    expect(viewOf(resumed).result).toEqual([{ content: "go a" }, { content: "go b" }]);
    // Each folder was marked twice in all: by the first run, not again by the resume.
    for (const folder of folders) expect(await readdir(path.join(folder, "marks"))).toHaveLength(2);
    expect(viewOf(resumed).tools).toEqual(["everything.echo", "files.read_text_file"]);
  });

  it("refuses a cycle when it is saved, and stops one at run time naming the chain", async () => {
    const a = unique("a");
    const b = unique("b");
    // a names its callee at run time (computed): nothing at save time can see the cycle.
    await save(
      a,
      `export default async (input, { call, step }) => step("hop", () => call(input.next ?? "${b}", {}))`,
    );
    await save(b, `export default async (input, { call, step }) => step("back", () => call("${a}", {}))`);
    const ran = await t.call(a, {});
    expect(ran.isError).toBe(true);
    expect(viewOf(ran).error).toContain(`Skill cycle: ${a} → ${b} → ${a}`);
    // The failure names where it happened, level by level.
    expect(viewOf(ran).error).toContain(`Skill "${b}" failed in its step 0 "back"`);

    const literal = await t.call("save_skill", {
      name: a,
      description: "a calling b by name",
      code: `export default async (input, { call }) => call("${b}", {})`,
      overwrite: true,
    });
    expect(literal.isError).toBe(true);
    expect(textOf(literal)).toContain(`${a} → ${b} → ${a}`);
    const itself = await t.call("save_skill", {
      name: unique("self"),
      description: "calls itself",
      code: `export default async (input, { call }) => call("self-${counter}", {})`,
    });
    expect(itself.isError).toBe(true);
    expect(textOf(itself)).toMatch(/would call itself: (self-\d+) → \1/);
  });

  it("stops a chain deeper than skillsmith.sandbox.maxDepth, naming it; one at the limit runs", async () => {
    const levels = Array.from({ length: 5 }, () => unique("level"));
    await save(levels[4] as string, `export default async () => "bottom"`);
    for (let i = 3; i >= 0; i--) {
      await save(
        levels[i] as string,
        `export default async (input, { call, step }) => step("down", () => call("${levels[i + 1]}", {}))`,
      );
    }
    // maxDepth is 3 here: levels[1] → … → levels[4] is three skills below the run's own.
    const atLimit = await t.call(levels[1] as string, {});
    expect(atLimit.isError, textOf(atLimit)).toBeFalsy();
    expect(viewOf(atLimit).result).toBe("bottom");
    const tooDeep = await t.call(levels[0] as string, {});
    expect(tooDeep.isError).toBe(true);
    expect(viewOf(tooDeep).error).toContain(
      `Skills nested too deep: ${levels.join(" → ")} nests 4 skill calls, more than skillsmith.sandbox.maxDepth (3)`,
    );
  });

  it("refuses to save code calling a skill that is not saved, suggesting the close one", async () => {
    const pair = unique("sum-pair");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    const typo = pair.replace("pair", "pari");
    const name = unique("typo");
    const refused = await t.call("save_skill", {
      name,
      description: "calls a misspelt skill",
      code: `export default async (input, { call }) => call("${typo}", { a: 1, b: 2 })`,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`No skill named "${typo}"`);
    expect(textOf(refused)).toContain(`Did you mean "${pair}"?`);
    expect((await t.client.listTools()).tools.map((tool) => tool.name)).not.toContain(name);
  });

  it("warns in the caller's run when a skill it calls was re-saved since", async () => {
    const pair = unique("sum-pair");
    const outer = unique("adds");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    await save(
      outer,
      `export default async (input, { call, step }) => step("add", () => call("${pair}", { a: 1, b: 1 }))`,
      { test: { input: {} } },
    );
    const before = viewOf(await t.call(outer, {}));
    expect(before.result).toBe(2);
    expect(before.warnings).toBeUndefined();
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA, overwrite: true });
    const after = await t.call(outer, {});
    expect(after.isError, textOf(after)).toBeFalsy();
    expect(viewOf(after).warnings).toEqual([
      `skill ${pair} was re-saved since ${outer} was saved (v1 → v2); check it still does what ${outer} expects.`,
    ]);
    expect(textOf(after)).toContain(`warning: skill ${pair} was re-saved`);
  });

  it("rejects bad input to a nested skill naming the skill and the field, before it runs", async () => {
    const pair = unique("sum-pair");
    const outer = unique("bad-input");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    await save(
      outer,
      `export default async (input, { call, step }) => step("add", () => call("${pair}", { a: "one", b: 2 }))`,
    );
    const ran = await t.call(outer, {});
    expect(ran.isError).toBe(true);
    const view = viewOf(ran);
    expect(view.error).toContain(
      `Invalid input for skill "${pair}" (called from ${outer}; nothing of it ran)`,
    );
    expect(view.error).toMatch(/\/?a\b.*number/);
    expect(view.tools).toEqual([]);
  });

  it("derives a composed skill's annotations through the skills it calls", async () => {
    const reader = unique("reader");
    const viaReader = unique("via-reader");
    const wiper = unique("wiper");
    const viaWiper = unique("via-wiper");
    await save(reader, `export default async (input, { call }) => call("memory.read_graph", {})`);
    await save(viaReader, `export default async (input, { call }) => call("${reader}", {})`);
    await save(
      wiper,
      `export default async (input, { call }) => call("memory.delete_entities", { entityNames: [] })`,
    );
    await save(
      viaWiper,
      `export default async (input, { call }) => [await call("${reader}", {}), await call("${wiper}", {})]`,
    );
    const tools = new Map((await t.client.listTools()).tools.map((tool) => [tool.name, tool]));
    expect(tools.get(viaReader)?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(tools.get(viaReader)?.description).toContain(`calls skill ${reader}`);
    expect(tools.get(viaWiper)?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });

  it("holds nested skills to the run's one budget of calls and time, and fails one that can never end", async () => {
    const loop = unique("echo-loop");
    await save(
      loop,
      `export default async (input, { call }) => {
  for (let i = 0; i < input.n; i++) await call("everything.echo", { message: "m" + i });
  return input.n;
}`,
    );
    // 2 skill calls and 2 × 500 echoes: past the 1000 calls a run may make (skillsmith.sandbox.maxCalls).
    const ran = await t.call("run_skill", {
      code: `export default async (input, { call, step }) => step("twice", async () =>
  [await call("${loop}", { n: 500 }), await call("${loop}", { n: 500 })])`,
    });
    expect(ran.isError).toBe(true);
    expect(viewOf(ran)).toMatchObject({ limit: "maxCalls", failedStep: { index: 0, label: "twice" } });
    expect(viewOf(ran).error).toContain(
      "more than its limit of 1000 tool calls (skillsmith.sandbox.maxCalls)",
    );

    const stuck = unique("stuck");
    await save(stuck, "export default () => new Promise(() => {})");
    const waiting = await t.call("run_skill", {
      code: `export default async (input, { call, step }) => step("wait", () => call("${stuck}", {}))`,
      timeoutMs: 30_000,
    });
    expect(waiting.isError).toBe(true);
    expect(viewOf(waiting).error).toContain("waiting for a promise that nothing will settle");

    // And one time limit: a nested skill that never yields is stopped at the run's own limit.
    const spin = unique("spin");
    await save(spin, "export default async () => { for (;;) {} }");
    const spun = await t.call("run_skill", {
      code: `export default async (input, { call, step }) => step("spin", () => call("${spin}", {}))`,
      timeoutMs: 500,
    });
    expect(spun.isError).toBe(true);
    expect(viewOf(spun)).toMatchObject({ limit: "timeoutMs", failedStep: { index: 0, label: "spin" } });
  });

  it("runs saved skills from ad-hoc code too", async () => {
    const pair = unique("sum-pair");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    const ran = await t.call("run_skill", {
      code: `export default async (input, { call, step }) => step("add", () => call("${pair}", { a: 20, b: 22 }))`,
    });
    expect(ran.isError, textOf(ran)).toBeFalsy();
    expect(viewOf(ran).result).toBe(42);
    expect(viewOf(ran).steps[0]?.children?.[0]).toMatchObject({ skill: pair, status: "ok" });

    // A name without a dot is a skill's: an unknown one says so, and how tools are named.
    const unknown = await t.call("run_skill", {
      code: `export default async (input, { call }) => call(input.name, {})`,
      input: { name: "echo" },
    });
    expect(unknown.isError).toBe(true);
    expect(viewOf(unknown).error).toMatch(
      /^No skill named "echo" \(called from ad-hoc code\)\. Saved skills: .*\. Tools are named "server\.tool"\.$/,
    );
  });

  it("shows who calls whom in `skillsmith skills`", async () => {
    assertBuilt();
    const pair = unique("sum-pair");
    const outer = unique("sum-and-store");
    await save(pair, SUM_PAIR, { inputSchema: PAIR_SCHEMA });
    await save(outer, sumAndStore(pair));
    const config = path.join(dir, "cli-mcp.json");
    await writeFile(config, JSON.stringify({ mcpServers: {}, skillsmith: { store: "memory:" } }));
    const listed = await runCli(["skills", "--config", config], dir);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.split("\n");
    expect(lines[0]).toMatch(/^name +version +updated +calls +used by +description$/);
    expect(lines.find((l) => l.startsWith(`${outer} `))).toMatch(
      new RegExp(`v1 .*${pair} \\(skill\\), memory\\.create_entities +- +test skill`),
    );
    expect(lines.find((l) => l.startsWith(`${pair} `))).toMatch(
      new RegExp(`everything\\.get-sum +(\\S+, )*${outer}(, \\S+)* +test skill`),
    );
  });

  it("ranks a skill other skills call above a near-equal one, and says who uses it", async () => {
    const other = unique("temperature");
    const used = unique("temperature");
    const code = "export default async (input) => input";
    await save(other, code, { description: "Convert celsius to kelvin" });
    await save(used, code, { description: "Convert celsius to kelvin, to a hundredth of a degree" });
    const search = async () => {
      const found = await t.call("search_tools", { query: "convert celsius kelvin" });
      const { results } = found.structuredContent as unknown as SearchOutput;
      return { results, names: results.map((r) => r.name), text: textOf(found) };
    };
    // Without callers, the longer name matches a little less well.
    const before = await search();
    expect(before.names.indexOf(other)).toBeGreaterThanOrEqual(0);
    expect(before.names.indexOf(used)).toBeGreaterThan(before.names.indexOf(other));

    const user = unique("weather-report");
    await save(user, `export default async (input, { call }) => call("${used}", {})`);
    const after = await search();
    expect(after.names.indexOf(used)).toBeLessThan(after.names.indexOf(other));
    expect(after.results.find((r) => r.name === used)?.usedBy).toEqual([user]);
    expect(after.results.find((r) => r.name === other)?.usedBy).toBeUndefined();
    expect(after.text).toContain(`used by: ${user}`);
  });
});

describe("the operator's policy through nested skills", () => {
  let dir: string;
  let strict: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    strict = await startGateway(
      {
        mcpServers: {
          memory: {
            command: process.execPath,
            args: [realServers.memory],
            env: { MEMORY_FILE_PATH: path.join(dir, "memory.jsonl") },
          },
        },
        skillsmith: { store: "memory:", servers: { memory: { skills: "readOnly" } } },
      },
      dir,
    );
  });
  afterAll(async () => {
    await strict?.close();
    await removeDir(dir);
  });

  it("refuses a tool the policy forbids when a nested skill calls it, and allows what it allows", async () => {
    const save = async (name: string, code: string) => {
      const saved = await strict.call("save_skill", { name, description: name, code });
      expect(saved.isError, textOf(saved)).toBeFalsy();
    };
    await save(
      "writer",
      `export default async (input, { call }) => call("memory.create_entities", { entities: [] })`,
    );
    await save("reader", `export default async (input, { call }) => call("memory.read_graph", {})`);
    await save(
      "via-writer",
      `export default async (input, { call, step }) => step("write", () => call("writer", {}))`,
    );
    await save(
      "via-reader",
      `export default async (input, { call, step }) => step("read", () => call("reader", {}))`,
    );
    const refused = await strict.call("via-writer", {});
    expect(refused.isError).toBe(true);
    const error = (refused.structuredContent as unknown as RunView).error;
    expect(error).toContain(`Skill "writer" failed`);
    expect(error).toContain(`skillsmith.servers.memory.skills is "readOnly"`);
    const allowed = await strict.call("via-reader", {});
    expect(allowed.isError, textOf(allowed)).toBeFalsy();
  });
});
