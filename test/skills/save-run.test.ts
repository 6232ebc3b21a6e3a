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

const SUM_AND_STORE = `
export default async function run(input, { call, step, parallel, log }) {
  const sums = await step("sum the pairs", () =>
    parallel(input.pairs, async ([a, b]) => {
      const text = await call("everything.get-sum", { a, b });
      return Number(String(text).match(/(-?[\\d.]+)\\.?$/)[1]);
    }, { concurrency: 4 }));
  log("sums", sums);
  await step("store the sums", () =>
    call("memory.create_entities", {
      entities: sums.map((sum, i) => ({ name: input.prefix + i, entityType: "sum", observations: [String(sum)] })),
    }));
  const graph = await step("read the graph back", () => call("memory.read_graph", {}));
  return { sums, stored: graph.entities.filter((e) => e.name.startsWith(input.prefix)).length };
}`;

const SCHEMA = {
  type: "object",
  properties: {
    pairs: { type: "array", items: { type: "array", items: { type: "number" }, minItems: 2, maxItems: 2 } },
    prefix: { type: "string" },
  },
  required: ["pairs", "prefix"],
};

describe("save_skill and run_skill over real servers", () => {
  let dir: string;
  let t: TestGateway;
  let config: unknown;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    dir = workspace.dir;
    config = {
      mcpServers: workspace.servers,
      skillsmith: { store: "file:state", sandbox: { timeoutMs: 3000 } },
    };
    t = await startGateway(config, dir);
  });

  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  /** Saves SUM_AND_STORE, tested on one pair; each test that runs it saves its own, under its own name. */
  async function saveSumAndStore(name: string, description: string) {
    const saved = await t.call("save_skill", {
      name,
      description,
      code: SUM_AND_STORE,
      inputSchema: SCHEMA,
      test: { input: { pairs: [[1, 2]], prefix: `${name}-test-` } },
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    return saved;
  }

  it("saves a tested skill that sums in parallel, stores and reads back; lists, finds and runs it", async () => {
    const saved = await saveSumAndStore(
      "sum-and-store",
      "Add pairs of numbers together and remember the sums in the knowledge graph",
    );
    expect(saved.structuredContent).toMatchObject({
      name: "sum-and-store",
      version: 1,
      tools: ["everything.get-sum", "memory.create_entities", "memory.read_graph"],
      testRun: { ok: true },
    });

    const listed = await t.client.listTools();
    const asTool = listed.tools.find((tool) => tool.name === "sum-and-store");
    expect(asTool?.inputSchema).toMatchObject({ required: ["pairs", "prefix"] });

    const run = await t.call("run_skill", {
      name: "sum-and-store",
      input: {
        pairs: [
          [2, 3],
          [10, 20],
          [-1, 1],
        ],
        prefix: "run-",
      },
    });
    const view = run.structuredContent as unknown as RunView;
    expect(view.ok, textOf(run)).toBe(true);
    expect(view.result).toEqual({ sums: [5, 30, 0], stored: 3 });
    expect(view.steps.map((s) => s.label)).toEqual([
      "sum the pairs",
      "store the sums",
      "read the graph back",
    ]);
    expect(view.steps.every((s) => !s.replayed)).toBe(true);
    expect(view.steps[0]?.shape).toBe("number[] /* 3 items */");
    expect(view.calls).toBe(5);

    const found = await t.call("search_tools", { query: "add numbers and remember the sums" });
    const results = (found.structuredContent as { results: Array<{ name: string; kind: string }> }).results;
    expect(results[0]).toMatchObject({ name: "sum-and-store", kind: "skill" });

    const direct = await t.call("sum-and-store", { pairs: [[4, 4]], prefix: "direct-" });
    expect((direct.structuredContent as unknown as RunView).result).toEqual({ sums: [8], stored: 1 });
  });

  it("still runs the skill after the gateway restarts", async () => {
    await saveSumAndStore("kept", "kept across a restart");
    const again = await startGateway(config, dir);
    try {
      const listed = await again.client.listTools();
      expect(listed.tools.map((tool) => tool.name)).toContain("kept");
      const run = await again.call("kept", { pairs: [[7, 8]], prefix: "restart-" });
      expect((run.structuredContent as unknown as RunView).result).toEqual({ sums: [15], stored: 1 });
    } finally {
      await again.close();
    }
  });

  it("rejects a syntax error, a meta-tool's name, an unknown tool and a failing test; lists none of them", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { name: "broken", code: "export default async function run( {" },
        /does not load in the sandbox: SyntaxError/,
      ],
      [{ name: "search_tools", code: "export default async () => 1" }, /Skillsmith's own tools/],
      [{ name: "Bad Name", code: "export default async () => 1" }, /must match/],
      [
        { name: "ghost", code: 'export default async (i, { call }) => call("files.nope", {})' },
        /do not exist: files\.nope/,
      ],
      [
        {
          name: "fails-test",
          code: 'export default async (i, { call }) => call("everything.get-sum", { a: 1 })',
          test: { input: {} },
        },
        /test run failed: Invalid arguments for everything\.get-sum\b.*: b: required/,
      ],
      [{ name: "no-default", code: "export const x = 1" }, /no default export function/],
    ];
    for (const [request, expected] of cases) {
      const result = await t.call("save_skill", { description: "x", ...request });
      expect(result.isError, String(request.name)).toBe(true);
      expect(textOf(result)).toContain("SKILL_INVALID");
      expect(textOf(result)).toMatch(expected);
    }
    const names = (await t.client.listTools()).tools.map((tool) => tool.name);
    for (const name of ["broken", "Bad Name", "ghost", "fails-test", "no-default"])
      expect(names).not.toContain(name);
    expect(names.filter((n) => n === "search_tools")).toHaveLength(1);
  });

  it("refuses to overwrite without overwrite: true, and keeps the earlier version when it does", async () => {
    const code = "export default async () => ({ v: 1 })";
    await t.call("save_skill", { name: "versioned", description: "v", code });
    const clash = await t.call("save_skill", { name: "versioned", description: "v", code });
    expect(textOf(clash)).toMatch(/exists \(version 1\); pass overwrite: true/);
    const v2 = await t.call("save_skill", {
      name: "versioned",
      description: "v",
      code: "export default async () => ({ v: 2 })",
      overwrite: true,
    });
    expect(v2.structuredContent).toMatchObject({ version: 2 });
    const { existsSync } = await import("node:fs");
    expect(existsSync(path.join(dir, "skills", ".versions", "versioned", "v1.js"))).toBe(true);
    const run = await t.call("versioned", {});
    expect((run.structuredContent as unknown as RunView).result).toEqual({ v: 2 });
  });

  it("learns a tool's answer shape from a skill's calls, without any probe", async () => {
    const before = await t.call("search_tools", {
      query: "open nodes by name",
      server: "memory",
      detail: "full",
      limit: 3,
    });
    const hit = (r: typeof before) =>
      (r.structuredContent as { results: Array<{ name: string; returns?: string }> }).results.find(
        (x) => x.name === "memory.open_nodes",
      );
    expect(hit(before)?.returns).toBeUndefined();
    const saved = await t.call("save_skill", {
      name: "open-sums",
      description: "open stored sums",
      code: `export default async (i, { call }) => {
        await call("memory.create_entities", { entities: [{ name: "opened-0", entityType: "sum", observations: ["3"] }] });
        return call("memory.open_nodes", { names: ["opened-0"] });
      }`,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    const run = await t.call("open-sums", {});
    expect(run.isError, textOf(run)).toBeFalsy();
    const after = await t.call("search_tools", {
      query: "open nodes by name",
      server: "memory",
      detail: "full",
      limit: 3,
    });
    expect(hit(after)?.returns).toMatch(/entities: \{[\s\S]*name: string;/);
  });

  it("reports a tool whose definition changed since the skill was saved", async () => {
    const { writeFile, readFile } = await import("node:fs/promises");
    await saveSumAndStore("drifting", "its tools change after it is saved");
    const metaFile = path.join(dir, "skills", "drifting.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8"));
    meta.tools["everything.get-sum"] = "0000000000000000";
    await writeFile(metaFile, JSON.stringify(meta));
    const again = await startGateway(config, dir);
    try {
      const run = await again.call("drifting", { pairs: [[1, 1]], prefix: "drift-" });
      const view = run.structuredContent as unknown as { ok: boolean; warnings?: string[] };
      expect(view.ok).toBe(true);
      expect(view.warnings).toEqual([
        expect.stringMatching(/everything\.get-sum changed since the skill was saved/),
      ]);
    } finally {
      await again.close();
    }
  });

  it("validates a skill's input against its schema", async () => {
    await saveSumAndStore("validated", "checks its input");
    const run = await t.call("run_skill", { name: "validated", input: { pairs: "nope" } });
    expect(run.isError).toBe(true);
    expect(textOf(run)).toContain("INVALID_ARGUMENTS");
    expect(textOf(run)).toContain("pairs: expected array");
    expect(textOf(run)).toContain("prefix: required");
  });
});
