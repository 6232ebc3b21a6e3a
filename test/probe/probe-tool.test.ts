import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeResult } from "../../src/probe/prober.js";
import {
  realServersWorkspace,
  removeDir,
  startGateway,
  type TestGateway,
  textOf,
} from "../helpers/gateway.js";

describe("probe_tool over real servers", () => {
  let dir: string;
  let root: string;
  let t: TestGateway;
  let permissive: TestGateway;

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    dir = workspace.dir;
    root = workspace.root;
    await mkdir(path.join(root, "notes"));
    await writeFile(path.join(root, "hello.txt"), "hello world\n");
    t = await startGateway(
      {
        mcpServers: workspace.servers,
        skillsmith: { store: "file:state", servers: { everything: { timeoutMs: 300 } } },
      },
      dir,
    );
    permissive = await startGateway(
      {
        mcpServers: { files: workspace.servers.files },
        skillsmith: { store: "memory:", registryDir: "registry2", servers: { files: { probe: "any" } } },
      },
      dir,
    );
  });

  afterAll(async () => {
    await t?.close();
    await permissive?.close();
    await removeDir(dir);
  });

  const probe = async (gateway: TestGateway, args: Record<string, unknown>) => {
    const result = await gateway.call("probe_tool", args);
    return { result, probe: result.structuredContent as unknown as ProbeResult, text: textOf(result) };
  };

  it("shows a text listing's shape and a sample with the file in it", async () => {
    const { result, probe: p } = await probe(t, { tool: "files.list_directory", arguments: { path: root } });
    expect(result.isError).toBeFalsy();
    expect(p.ok).toBe(true);
    expect(p.shape).toContain("content: string");
    expect(p.shape).toContain("[TAG] name");
    expect(JSON.stringify(p.sample)).toContain("[FILE] hello.txt");
    expect(p.outputSchema?.matches).toBe(true);
  });

  it("shows the sum that get-sum answers", async () => {
    const { probe: p, text } = await probe(t, { tool: "everything.get-sum", arguments: { a: 2, b: 3 } });
    expect(p.ok).toBe(true);
    expect(String(p.sample)).toContain("5");
    expect(text).toContain("5");
  });

  it("infers a structured answer's shape and says when parts were empty", async () => {
    const structured = await probe(t, {
      tool: "everything.get-structured-content",
      arguments: { location: "New York" },
    });
    expect(structured.probe.ok).toBe(true);
    expect(structured.probe.shape).toMatch(/temperature: number/);
    expect(structured.probe.outputSchema?.matches).toBe(true);
    const { probe: p } = await probe(t, { tool: "memory.read_graph", arguments: {} });
    expect(p.ok).toBe(true);
    expect(p.shape).toMatch(/entities: never\[\]/);
    expect(p.hint).toMatch(/empty/);
  });

  it("refuses write_file without consent, and writes nothing", async () => {
    const target = path.join(root, "refused.txt");
    const { result, text } = await probe(t, {
      tool: "files.write_file",
      arguments: { path: target, content: "x" },
      allowSideEffects: true,
    });
    expect(result.isError).toBe(true);
    expect(text).toContain("PROBE_REFUSED");
    expect(text).toMatch(/skillsmith\.servers\.files\.probe is "readOnly"; set it to "any"/);
    const bare = await probe(t, { tool: "files.write_file", arguments: { path: target, content: "x" } });
    expect(bare.text).toContain("allowSideEffects: true");
    expect(existsSync(target)).toBe(false);
  });

  it("refuses a write when the server allows it but the caller did not consent", async () => {
    const target = path.join(root, "no-consent.txt");
    const { text } = await probe(permissive, {
      tool: "files.write_file",
      arguments: { path: target, content: "x" },
    });
    expect(text).toContain("PROBE_REFUSED");
    expect(existsSync(target)).toBe(false);
  });

  it("calls write_file when consent and probe: any are both given", async () => {
    const target = path.join(root, "allowed.txt");
    const { probe: p } = await probe(permissive, {
      tool: "files.write_file",
      arguments: { path: target, content: "written by a probe" },
      allowSideEffects: true,
    });
    expect(p.ok).toBe(true);
    expect(existsSync(target)).toBe(true);
  });

  it("rejects invalid arguments naming every bad field, and calls nothing", async () => {
    const { result, text } = await probe(t, { tool: "everything.get-sum", arguments: { a: "two" } });
    expect(result.isError).toBe(true);
    expect(text).toContain("INVALID_ARGUMENTS");
    expect(text).toMatch(/a: expected number/);
    expect(text).toMatch(/b: required/);
    expect(text).toContain("nothing was called");
  });

  it("names an unknown tool and suggests close ones", async () => {
    const { result, text } = await probe(t, { tool: "files.list_dir", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text).toContain("TOOL_NOT_FOUND");
    expect(text).toContain("files.list_directory");
    const noDot = await probe(t, { tool: "get-sum", arguments: {} });
    expect(noDot.text).toContain('"server.tool"');
  });

  it("serves a repeated read-only probe from the cache, unless fresh", async () => {
    const args = { tool: "everything.echo", arguments: { message: "cache me" } };
    const first = await probe(t, args);
    expect(first.probe.cached).toBe(false);
    const second = await probe(t, args);
    expect(second.probe.cached).toBe(true);
    expect(second.probe.sample).toEqual(first.probe.sample);
    const fresh = await probe(t, { ...args, fresh: true });
    expect(fresh.probe.cached).toBe(false);
  });

  it("reports a timeout as a failed probe and keeps answering", async () => {
    const { result, probe: p } = await probe(t, {
      tool: "everything.trigger-long-running-operation",
      arguments: { duration: 5, steps: 5 },
      fresh: true,
    });
    expect(result.isError).toBe(true);
    expect(p.ok).toBe(false);
    expect(p.error).toMatch(/timed out after 300 ms/);
    expect(p.error).toContain("skillsmith.servers.everything.timeoutMs");
    const again = await probe(t, { tool: "everything.get-sum", arguments: { a: 1, b: 1 }, fresh: true });
    expect(again.probe.ok).toBe(true);
  });

  it("reports a tool's own error answer as a failed probe", async () => {
    const { result, probe: p } = await probe(t, {
      tool: "files.read_text_file",
      arguments: { path: path.join(root, "missing.txt") },
    });
    expect(result.isError).toBe(true);
    expect(p.isError).toBe(true);
    expect(p.error).toContain("files.read_text_file answered with an error");
  });

  it("shows the observed shape in search_tools after a probe", async () => {
    await probe(t, { tool: "files.list_directory", arguments: { path: root } });
    const full = await t.call("search_tools", {
      query: "list directory",
      server: "files",
      detail: "full",
      limit: 3,
    });
    const hit = (
      full.structuredContent as { results: Array<{ name: string; returns?: string }> }
    ).results.find((r) => r.name === "files.list_directory");
    expect(hit?.returns).toContain("content: string");
    const summary = await t.call("search_tools", { query: "list directory", server: "files", limit: 3 });
    expect(textOf(summary)).toMatch(/returns: \{ content: string/);
  });
});
