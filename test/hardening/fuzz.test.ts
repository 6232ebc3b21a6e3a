import path from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realServers, removeDir, startGateway, type TestGateway, tempDir } from "../helpers/gateway.js";

/** Keys that name members of Object.prototype, or that the gateway's own records use. */
const TRICKY_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "kind",
  "shape",
  "then",
];

function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { __proto__: value };
  return JSON.parse(JSON.stringify(value));
}

/** JSON a client could send: random values, and the hostile ones (deep, huge, tricky keys, odd unicode). */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  fc.constantFrom(
    nested(2_000),
    nested(20_000),
    "x".repeat(2_000_000),
    "\u202e\u200b\u0000\ud800",
    -0,
    1e308,
    "",
    [],
    {},
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc
    .dictionary(fc.oneof(fc.constantFrom(...TRICKY_KEYS), fc.string()), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 6,
    })
    .map((o) => JSON.parse(JSON.stringify(o).replaceAll('"proto"', '"__proto__"'))),
);

/** An object whose keys and values are hostile: where tools take free-form arguments or input. */
const hostileObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...TRICKY_KEYS), fc.string()), hostile, { maxKeys: 5 }),
  fc.constantFrom(
    JSON.parse('{"__proto__": {"message": 1}, "message": "hi", "a": 1, "b": 2}'),
    { message: nested(20_000), a: nested(2_000) },
    { message: "x".repeat(2_000_000), value: "a".repeat(40) },
  ),
);

/**
 * A tool's arguments: mostly its own fields with hostile values where it takes free-form JSON (so calls get
 * past the argument checks), sometimes hostile JSON in every field, sometimes random fields.
 */
function argumentsFor(
  fields: Record<string, fc.Arbitrary<unknown>>,
  required: string[],
): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record(fields, { requiredKeys: required }) },
    fc.record(Object.fromEntries(Object.keys(fields).map((k) => [k, hostile])), { requiredKeys: [] }),
    fc.dictionary(fc.oneof(fc.constantFrom(...TRICKY_KEYS, ...Object.keys(fields)), fc.string()), hostile, {
      maxKeys: 5,
    }),
  );
}

const CODE = [
  "export default async (input) => input;",
  'export default async (input, { call }) => call("everything.echo", { message: JSON.stringify(input) });',
  'export default async (input, { step }) => step("keep", () => input);',
];

const tools: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  search_tools: argumentsFor(
    {
      query: fc.oneof(
        fc.constantFrom("add two numbers", "__proto__", "x".repeat(100_000)),
        fc.string({ unit: "binary" }),
      ),
      limit: fc.integer({ min: 1, max: 50 }),
      server: fc.constantFrom("everything", "constructor", "__proto__"),
      detail: fc.constantFrom("name", "summary", "full"),
    },
    ["query"],
  ),
  probe_tool: argumentsFor(
    {
      tool: fc.constantFrom(
        "everything.echo",
        "everything.get-sum",
        "everything.get-structured-content",
        "everything.__proto__",
      ),
      arguments: hostileObject,
      fresh: fc.boolean(),
    },
    ["tool", "arguments"],
  ),
  run_skill: argumentsFor(
    { code: fc.constantFrom(...CODE), input: hostileObject, timeoutMs: fc.integer({ min: 100, max: 5_000 }) },
    ["code", "input"],
  ),
  save_skill: argumentsFor(
    {
      name: fc.stringMatching(/^fz[a-z0-9-]{1,8}$/),
      description: fc.oneof(fc.string({ unit: "binary" }), fc.constant("Keeps its input.")),
      code: fc.constantFrom(...CODE),
      inputSchema: fc.oneof(
        hostileObject,
        fc.constant({ type: "object", properties: { value: { type: "string", pattern: "^(a+)+$" } } }),
      ),
      test: fc.record({ input: hostileObject }),
      overwrite: fc.constant(true),
    },
    ["name", "description", "code"],
  ),
  "fuzz-echo": hostileObject,
};

/**
 * Random and hostile JSON at every tool a client sees, over MCP with the real everything server behind:
 * each call ends in a result (an error result or not) or a protocol error, nothing crashes, and the gateway
 * answers search_tools afterwards. Runs are bounded in number and time so CI stays fast.
 */
describe("fuzzing the tools a client sees", () => {
  let dir: string;
  let t: TestGateway;

  beforeAll(async () => {
    dir = await tempDir();
    t = await startGateway(
      {
        mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
        skillsmith: { store: "memory:", skillsDir: path.join(dir, "skills"), sandbox: { timeoutMs: 5_000 } },
      },
      dir,
    );
    const saved = await t.call("save_skill", {
      name: "fuzz-echo",
      description: "Gives its input back.",
      code: 'export default async (input, { step }) => step("echo", () => input);',
      inputSchema: { type: "object", properties: { value: { type: "string", pattern: "^(a+)+$" } } },
    });
    expect(saved.isError).toBeFalsy();
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  /** A result or a protocol error is an answer; anything else (a closed connection, a timeout) is not. */
  async function answered(name: string, args: Record<string, unknown>): Promise<void> {
    try {
      const result = await t.client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 });
      expect(Array.isArray(result.content)).toBe(true);
    } catch (error) {
      if (!(error instanceof McpError) || /closed|timed out/i.test(error.message)) throw error;
    }
  }

  it.each(Object.keys(tools))("%s answers every input", async (name) => {
    const arbitrary = tools[name] as fc.Arbitrary<Record<string, unknown>>;
    await fc.assert(
      fc.asyncProperty(arbitrary, (args) => answered(name, args)),
      { numRuns: 40, interruptAfterTimeLimit: 3_000 },
    );
    const search = await t.call("search_tools", { query: "add two numbers" });
    expect(search.isError).toBeFalsy();
    expect(JSON.stringify(search.structuredContent)).toContain("everything.get-sum");
  });
});
