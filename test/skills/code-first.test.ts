import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchOutput } from "../../src/gateway.js";
import { runCli } from "../helpers/cli.js";
import {
  type RunView,
  realServersWorkspace,
  removeDir,
  startGateway,
  type TestGateway,
  textOf,
} from "../helpers/gateway.js";
import { assertBuilt } from "../helpers/processes.js";

/** Code that writes `input.text` to `input.path` with files.write_file, then reads it back. */
const WRITE_AND_READ = `export default async (input, { call, step }) => {
  await step("write", () => call("files.write_file", { path: input.path, content: input.text }));
  const back = await step("read back", () => call("files.read_text_file", { path: input.path }));
  return back.content;
}`;

/**
 * Code first, save after: run_skill runs code that is not saved, save_skill keeps the code of a run that
 * worked, saved skills say honestly what they may do, and the operator decides what code may call.
 */
describe("ad-hoc runs, saves from a run, and honest consent", () => {
  let dir: string;
  let root: string;
  let t: TestGateway;
  /** The same servers, but code may only call read-only tools of files. */
  let strict: TestGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    ({ dir, root } = workspace);
    t = await startGateway({ mcpServers: workspace.servers, skillsmith: { store: "memory:" } }, dir);
    strict = await startGateway(
      {
        mcpServers: workspace.servers,
        skillsmith: {
          store: "memory:",
          skillsDir: path.join(dir, "strict-skills"),
          servers: { files: { skills: "readOnly" } },
        },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await strict?.close();
    await removeDir(dir);
  });

  const names = async (on: TestGateway) => (await on.client.listTools()).tools.map((tool) => tool.name);
  const toolNamed = async (on: TestGateway, name: string): Promise<Tool | undefined> =>
    (await on.client.listTools()).tools.find((tool) => tool.name === name);

  it("runs code ad hoc, for real, and saves nothing", async () => {
    const skillsDir = path.join(dir, "skills");
    const filesBefore = existsSync(skillsDir) ? await readdir(skillsDir) : [];
    const toolsBefore = await names(t);
    const target = path.join(root, "adhoc.txt");
    const ran = await t.call("run_skill", {
      code: WRITE_AND_READ,
      input: { path: target, text: "written ad hoc" },
    });
    expect(ran.isError, textOf(ran)).toBeFalsy();
    const view = ran.structuredContent as unknown as RunView;
    expect(view).toMatchObject({ ok: true, adHoc: true, result: "written ad hoc" });
    expect(view.tools).toEqual(["files.write_file", "files.read_text_file"]);
    expect(view.runId).toBeTruthy();
    expect(await readFile(target, "utf8")).toBe("written ad hoc");
    expect(existsSync(skillsDir) ? await readdir(skillsDir) : []).toEqual(filesBefore);
    expect(await names(t)).toEqual(toolsBefore);
  });

  it("saves the code of a run that worked, with its input as the test, without running it again", async () => {
    const target = path.join(root, "kept.txt");
    const ran = await t.call("run_skill", { code: WRITE_AND_READ, input: { path: target, text: "first" } });
    const { runId } = ran.structuredContent as unknown as RunView;
    await writeFile(target, "changed since");
    const saved = await t.call("save_skill", {
      name: "write-and-read",
      description: "Writes a text file and reads it back.",
      fromRun: runId,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ name: "write-and-read", version: 1, fromRun: runId });
    // Saving did not run the code again: the file still holds what was written after the run.
    expect(await readFile(target, "utf8")).toBe("changed since");
    expect(await names(t)).toContain("write-and-read");
    const meta = JSON.parse(await readFile(path.join(dir, "skills", "write-and-read.json"), "utf8"));
    expect(meta).toMatchObject({ fromRun: runId, test: { input: { path: target, text: "first" } } });
    expect(Object.keys(meta.tools).sort()).toEqual(["files.read_text_file", "files.write_file"]);
    const again = await t.call("write-and-read", { path: target, text: "as a tool" });
    expect((again.structuredContent as unknown as RunView).result).toBe("as a tool");
  });

  it("refuses to save from a failed run, an unknown run, or with both code and fromRun", async () => {
    const failed = await t.call("run_skill", {
      code: `export default async (input, { call }) => call("files.read_text_file", { path: input.path });`,
      input: { path: path.join(root, "missing.txt") },
    });
    expect(failed.isError).toBe(true);
    const { runId } = failed.structuredContent as unknown as RunView;
    const fromFailed = await t.call("save_skill", { name: "never", description: "x", fromRun: runId });
    expect(textOf(fromFailed)).toContain("only a run that succeeded can be saved");
    const fromNothing = await t.call("save_skill", {
      name: "never",
      description: "x",
      fromRun: "no-such-run",
    });
    expect(textOf(fromNothing)).toContain('there is no run "no-such-run"');
    const both = await t.call("save_skill", { name: "never", description: "x", fromRun: runId, code: "x" });
    expect(textOf(both)).toContain("INVALID_ARGUMENTS");
    expect(await names(t)).not.toContain("never");
  });

  it("resumes a failed ad-hoc run from its record, replaying the steps that completed", async () => {
    const folder = path.join(root, "resume");
    await mkdir(folder);
    const code = `export default async (input, { call, step }) => {
      const listing = await step("list", () => call("files.list_directory", { path: input.folder }));
      const report = await step("read", () => call("files.read_text_file", { path: input.folder + "/report.txt" }));
      return { listing: listing.content, report: report.content };
    }`;
    const failed = await t.call("run_skill", { code, input: { folder } });
    const { runId } = failed.structuredContent as unknown as RunView;
    expect(failed.isError).toBe(true);
    await writeFile(path.join(folder, "report.txt"), "found");
    const resumed = await t.call("run_skill", { resume: runId });
    const view = resumed.structuredContent as unknown as RunView;
    expect(view.ok, textOf(resumed)).toBe(true);
    expect(view.steps.map((s) => s.replayed)).toEqual([true, false]);
    expect(view.result).toEqual({ listing: "", report: "found" });
  });

  it("resumes past a step that began steps of its own, however often it is resumed", async () => {
    const folder = path.join(root, "resume-nested-steps");
    await mkdir(folder);
    // "inner 1" begins while "sums" runs synchronously, "inner 2" after an await: both are begun inside "sums".
    const code = `export default async (input, { call, step }) => {
      const sums = await step("sums", async () => {
        const a = await step("inner 1", () => call("everything.get-sum", { a: 1, b: 2 }));
        const b = await step("inner 2", () => call("everything.get-sum", { a: 3, b: 4 }));
        return [a, b];
      });
      const report = await step("read", () => call("files.read_text_file", { path: input.folder + "/report.txt" }));
      return { sums, report: report.content };
    }`;
    const failed = await t.call("run_skill", { code, input: { folder } });
    expect(failed.isError).toBe(true);
    // A resume that fails again must leave a record the next resume can still follow.
    const again = await t.call("run_skill", {
      resume: (failed.structuredContent as unknown as RunView).runId,
    });
    const second = again.structuredContent as unknown as RunView;
    expect(again.isError, textOf(again)).toBe(true);
    expect(second.failedStep).toMatchObject({ label: "read" });
    expect(second.calls).toBe(1);
    await writeFile(path.join(folder, "report.txt"), "found");
    const resumed = await t.call("run_skill", { resume: second.runId });
    const view = resumed.structuredContent as unknown as RunView;
    expect(view.ok, textOf(resumed)).toBe(true);
    expect(view.steps.map((s) => [s.label, s.replayed])).toEqual([
      ["sums", true],
      ["inner 1", true],
      ["inner 2", true],
      ["read", false],
    ]);
    expect(view.calls).toBe(1);
    expect(view.result).toMatchObject({ report: "found" });
    expect(JSON.stringify(view.result)).toContain("The sum of 3 and 4 is 7");
  });

  it("annotates run_skill, save_skill and each saved skill by what they may do", async () => {
    for (const meta of ["run_skill", "save_skill"]) {
      expect((await toolNamed(t, meta))?.annotations).toMatchObject({
        destructiveHint: true,
        openWorldHint: true,
      });
    }
    await writeFile(path.join(root, "notes.txt"), "a note");
    const reader = await t.call("save_skill", {
      name: "read-notes",
      description: "Reads the notes file.",
      code: `export default async (input, { call }) => call("files.read_text_file", { path: input.path });`,
      test: { input: { path: path.join(root, "notes.txt") } },
    });
    expect(reader.isError, textOf(reader)).toBeFalsy();
    const writer = await t.call("save_skill", {
      name: "remember-person",
      description: "Remembers a person in the knowledge graph.",
      code: `export default async (input, { call }) =>
        call("memory.create_entities", { entities: [{ name: input.name, entityType: "person", observations: [] }] });`,
      test: { input: { name: "Ada" } },
    });
    expect(writer.isError, textOf(writer)).toBeFalsy();
    const readTool = await toolNamed(t, "read-notes");
    expect(readTool?.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      openWorldHint: false,
    });
    expect(readTool?.description).toMatch(/calls files\.read_text_file\)$/);
    // create_entities is annotated as a write that only adds (destructiveHint: false); write_file may overwrite.
    const adds = await toolNamed(t, "remember-person");
    expect(adds?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    const overwriter = await t.call("save_skill", {
      name: "overwrite-file",
      description: "Writes a file.",
      code: WRITE_AND_READ,
    });
    expect(overwriter.isError, textOf(overwriter)).toBeFalsy();
    expect((await toolNamed(t, "overwrite-file"))?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
  });

  it("flags a skill that computes the names of the tools it calls, and lists what it really called", async () => {
    await writeFile(path.join(root, "computed.txt"), "computed");
    const saved = await t.call("save_skill", {
      name: "call-any",
      description: "Calls the tool named in its input.",
      code: `export default async (input, { call }) => call(input.tool, input.args);`,
      test: { input: { tool: "files.read_text_file", args: { path: path.join(root, "computed.txt") } } },
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ computedCalls: true, tools: [] });
    expect((saved.structuredContent as { testRun: RunView }).testRun.tools).toEqual(["files.read_text_file"]);
    const listed = await toolNamed(t, "call-any");
    expect(listed?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(listed?.description).toContain("names it computes at run time");
    const found = await t.call("search_tools", { query: "calls the tool named in its input", limit: 3 });
    const hit = (found.structuredContent as unknown as SearchOutput).results.find(
      (r) => r.name === "call-any",
    );
    expect(hit?.computedCalls).toBe(true);
  });

  it("keeps code within the operator's policy: a readOnly server refuses a write, naming the setting", async () => {
    const target = path.join(root, "refused.txt");
    const ran = await strict.call("run_skill", { code: WRITE_AND_READ, input: { path: target, text: "no" } });
    expect(ran.isError).toBe(true);
    expect(textOf(ran)).toContain("skillsmith.servers.files.skills");
    expect(existsSync(target)).toBe(false);

    const saved = await strict.call("save_skill", {
      name: "refused-writer",
      description: "Would write a file.",
      code: WRITE_AND_READ,
      test: { input: { path: target, text: "no" } },
    });
    expect(saved.isError).toBe(true);
    expect(textOf(saved)).toContain("skillsmith.servers.files.skills");
    expect(existsSync(target)).toBe(false);

    const reads = await strict.call("run_skill", {
      code: `export default async (input, { call }) => call("files.list_directory", { path: input.path });`,
      input: { path: root },
    });
    expect(reads.isError, textOf(reads)).toBeFalsy();
  });
});

describe("skillsmith run --code and save --from-run", () => {
  it("runs a file of code ad hoc, then saves that run as a skill the CLI lists", async () => {
    assertBuilt();
    const workspace = await realServersWorkspace();
    try {
      await writeFile(
        path.join(workspace.dir, "mcp.json"),
        JSON.stringify({ mcpServers: { everything: workspace.servers.everything } }),
      );
      const code = path.join(workspace.dir, "sum.js");
      await writeFile(
        code,
        `export default async (input, { call, step }) => step("sum", () => call("everything.get-sum", input));\n`,
      );
      const ran = await runCli(["run", "--code", code, "--input", '{"a": 2, "b": 40}'], workspace.dir);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toContain("42");
      const runId = /runId: ([0-9a-f-]{36})/.exec(ran.stdout)?.[1];
      expect(runId).toBeTruthy();
      const saved = await runCli(
        ["save", "add-two", "--from-run", runId ?? "", "--description", "Adds two numbers."],
        workspace.dir,
      );
      expect(saved.code, saved.stderr).toBe(0);
      expect(saved.stdout).toContain('Saved skill "add-two" v1');
      const listed = await runCli(["skills"], workspace.dir);
      expect(listed.stdout).toContain("everything.get-sum");
      expect((await readdir(path.join(workspace.dir, "skills"))).sort()).toEqual([
        ".versions",
        "add-two.js",
        "add-two.json",
      ]);
      expect((await readdir(path.join(workspace.dir, "skills", ".versions", "add-two"))).sort()).toEqual([
        "v1.js",
        "v1.json",
      ]);
    } finally {
      await removeDir(workspace.dir);
    }
  });
});
