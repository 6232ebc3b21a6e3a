import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import type { ProbeResult } from "../../src/probe/prober.js";
import { INJECTION } from "../fixtures/untrusted-server.js";
import {
  type RunView,
  realServersWorkspace,
  removeDir,
  startGateway,
  type TestGateway,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

const PROTO_JSON = '[{"__proto__":1},{"shape":1}]';
/** 29 characters that take a backtracking engine seconds on `^(a+)+$` (each one more doubles it). */
const CATASTROPHIC_INPUT = `${"a".repeat(28)}!`;
const HIDDEN = /[\p{Cc}\p{Cf}]/u;

/** What a hostile server can put in its definitions and answers, through the gateway's public tools. */
describe("a server's hostile definitions and answers", () => {
  let dir: string;
  let root: string;
  let t: TestGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    ({ dir, root } = workspace);
    await writeFile(path.join(root, "proto.json"), PROTO_JSON);
    t = await startGateway(
      {
        mcpServers: { files: workspace.servers.files, untrusted: fixtureEntry("untrusted-server") },
        skillsmith: { store: "file:state" },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const probe = async (tool: string, args: Record<string, unknown> = {}) => {
    const result = await t.call("probe_tool", { tool, arguments: args, fresh: true });
    return { result, probe: result.structuredContent as unknown as ProbeResult, text: textOf(result) };
  };
  const search = async (args: Record<string, unknown>) => {
    const result = await t.call("search_tools", args);
    return { output: result.structuredContent as unknown as SearchOutput, text: textOf(result) };
  };

  describe("__proto__ keys in answers", () => {
    it("probes a server's answer, and a file's, whose items have a __proto__ key", async () => {
      for (const [tool, args] of [
        ["untrusted.proto", {}],
        ["files.read_text_file", { path: path.join(root, "proto.json") }],
      ] as const) {
        // Twice: the second answer merges with the shape read back from the store.
        for (let i = 0; i < 2; i++) {
          const { result, probe: p } = await probe(tool, args);
          expect(result.isError, p.error).toBeFalsy();
          expect(p.ok).toBe(true);
          expect(p.shape).toContain("__proto__?: number");
          expect(p.shape).toContain("shape?: number");
          expect(JSON.stringify(p.sample)).toContain("__proto__");
        }
      }
    });

    it("runs code whose step value has __proto__ and constructor keys", async () => {
      const code = `export default async (input, { step }) => {
        const items = await step("parse", () => JSON.parse(${JSON.stringify(PROTO_JSON)}));
        return step("more", () => [...items, JSON.parse('{"constructor": "x", "__proto__": {"kind": 1}}')]);
      }`;
      const result = await t.call("run_skill", { code });
      const run = result.structuredContent as unknown as RunView;
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(run.steps.map((s) => s.shape).join("\n")).toContain("__proto__?:");
      expect(JSON.stringify(run.result)).toContain('"__proto__":{"kind":1}');
    });
  });

  describe("catastrophic patterns in schemas", () => {
    it("checks a downstream argument against ^(a+)+$ at once, and calls with a fitting one", async () => {
      const refused = await probe("untrusted.lookup", { code: CATASTROPHIC_INPUT });
      expect(refused.result.isError).toBe(true);
      expect(refused.text).toContain('code: must match pattern "^(a+)+$"');
      const { probe: found } = await probe("untrusted.lookup", { code: "aaaa" });
      expect(found.ok).toBe(true);
      expect(JSON.stringify(found.sample)).toContain("found");
    });

    it("checks a skill's input against ^(a+)+$ at once, at save and at each run", async () => {
      const inputSchema = {
        type: "object",
        properties: { word: { type: "string", pattern: "^(a+)+$" } },
        required: ["word"],
      };
      const code = "export default async (input) => input.word.length;";
      const refused = await t.call("save_skill", {
        name: "count-as",
        description: "Counts the letters of a word of a's.",
        code,
        inputSchema,
        test: { input: { word: CATASTROPHIC_INPUT } },
      });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain("must match pattern");
      const saved = await t.call("save_skill", {
        name: "count-as",
        description: "Counts the letters of a word of a's.",
        code,
        inputSchema,
        test: { input: { word: "aaa" } },
      });
      expect(saved.isError, textOf(saved)).toBeFalsy();
      const run = await t.call("count-as", { word: CATASTROPHIC_INPUT });
      expect(run.isError).toBe(true);
      expect(textOf(run)).toContain("must match pattern");
      const ok = await t.call("run_skill", { name: "count-as", input: { word: "aaaa" } });
      expect((ok.structuredContent as unknown as RunView).result).toBe(4);
    });

    it("refuses a schema past the limits, naming the limit", async () => {
      let deep: Record<string, unknown> = { type: "string" };
      for (let i = 0; i < 40; i++) deep = { type: "object", properties: { a: deep } };
      const tooDeep = await t.call("save_skill", {
        name: "too-deep",
        description: "Has a deep schema.",
        code: "export default async () => 1;",
        inputSchema: deep,
      });
      expect(tooDeep.isError).toBe(true);
      expect(textOf(tooDeep)).toContain("the schema nests too deep to check (more than 64 levels");
      const lookaround = await t.call("save_skill", {
        name: "lookaround",
        description: "Has a pattern with a lookahead.",
        code: "export default async () => 1;",
        inputSchema: { type: "object", properties: { a: { type: "string", pattern: "^(?=x)x$" } } },
      });
      expect(lookaround.isError).toBe(true);
      expect(textOf(lookaround)).toContain("lookaround and backreferences are not supported");
      const huge = await t.call("save_skill", {
        name: "huge-pattern",
        description: "Has a pattern too large for a linear-time engine.",
        code: "export default async () => 1;",
        inputSchema: { type: "object", properties: { a: { type: "string", pattern: "^[\\p{L}]{1,1000}$" } } },
      });
      expect(huge.isError).toBe(true);
      expect(textOf(huge)).toContain(
        "it is too large for the linear-time regex engine (limit 1048576 bytes a regex)",
      );
    });
  });

  describe("descriptions and names", () => {
    it("strips hidden characters from descriptions, quotes them as the server's, and caps them", async () => {
      for (const detail of ["summary", "full"]) {
        const { output, text } = await search({
          query: "read a file",
          server: "untrusted",
          detail,
          limit: 10,
        });
        const read = output.results.find((r) => r.name === "untrusted.read_file");
        expect(read?.description).toContain(INJECTION);
        expect(read?.description).not.toMatch(HIDDEN);
        expect(text.replaceAll("\n", " ")).not.toMatch(HIDDEN);
        expect(text).toContain(`"Reads a file. ${INJECTION}.`);
        expect(text).toContain("descriptions quoted as their servers wrote them");
      }
      const { output } = await search({ query: "notes", server: "untrusted", detail: "full" });
      const notes = output.results.find((r) => r.name === "untrusted.notes");
      expect(notes?.description?.length).toBeLessThanOrEqual(2000);
    });

    it("flags tool names that differ only by case or hidden characters", async () => {
      const { output, text } = await search({ query: "read file", server: "untrusted", limit: 10 });
      const flagged = new Map(output.results.map((r) => [r.name, r.lookalike]));
      expect(flagged.get("untrusted.read_file")).toBeDefined();
      expect(flagged.get("untrusted.read_\u200bfile")).toBeDefined();
      expect(flagged.get("untrusted.READ_FILE")).toBeDefined();
      expect(flagged.get("untrusted.lookup")).toBeUndefined();
      expect(text).toContain("untrusted.read_\\u{200b}file (tool, LOOKALIKE of");
    });
  });
});
