import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as skillsmith } from "../helpers/cli.js";
import { realServerEntries, realServers, removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, missingCommand, repoRoot } from "../helpers/processes.js";

describe("the skillsmith CLI", () => {
  let dir: string;
  const configs: Record<string, string> = {};

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-cli-");
    const write = async (name: string, content: unknown) => {
      configs[name] = path.join(dir, `${name}.json`);
      await writeFile(configs[name], typeof content === "string" ? content : JSON.stringify(content));
    };
    await write("no-command", { mcpServers: { ok: { command: "x" }, broken: { args: ["serve"] } } });
    await write("not-json", "{ mcpServers: ");
    await write("with-ghost", {
      mcpServers: {
        memory: realServerEntries(dir, path.join(dir, "memory.jsonl")).memory,
        ghost: missingCommand,
      },
      skillsmith: { store: "memory:" },
    });
    await write("everything", {
      mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
      skillsmith: { store: "memory:" },
    });
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("stops serve at once with exit code 2 on a config without command or url, naming the file and the path", async () => {
    const run = await skillsmith(["serve", "--config", configs["no-command"] as string], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("CONFIG_INVALID");
    expect(run.stderr).toContain(configs["no-command"]);
    expect(run.stderr).toContain("mcpServers.broken.command");
    expect(run.stdout).toBe("");
  });

  it("exits with code 2 on invalid JSON and on a missing config file", async () => {
    const notJson = await skillsmith(["serve", "--config", configs["not-json"] as string], dir);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain(configs["not-json"]);
    const missing = path.join(dir, "absent.json");
    const absent = await skillsmith(["doctor", "--config", missing], dir);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(missing);
  });

  it("reads ./mcp.json when no --config is given (an empty SKILLSMITH_CONFIG counts as unset)", async () => {
    const run = await skillsmith(["doctor"], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(path.join(dir, "mcp.json"));
  });

  it("doctor prints each server's status and exits non-zero naming the one that failed", async () => {
    const run = await skillsmith(["doctor", "--config", configs["with-ghost"] as string], dir);
    expect(run.code).not.toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("memory"))).toMatch(/ready\s+\d+\s+\d+ ms/);
    expect(lines.find((l) => l.startsWith("ghost"))).toMatch(/failed\s+0\s+-/);
    expect(run.stdout).toMatch(/1 of 2 servers failed: ghost/);
  });

  it("search prints a table with the matching tool", async () => {
    const run = await skillsmith(
      ["search", "add two numbers together", "--config", configs.everything as string, "--limit", "3"],
      dir,
    );
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trim().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual(["#", "name", "score", "description"]);
    const body = rows.slice(0, rows.indexOf(""));
    expect(body.length).toBeGreaterThan(0);
    for (const row of body) expect(row).toMatch(/^\d+\s+\S+\s+\d+\.\d\d\s/);
    expect(body.length).toBeLessThanOrEqual(3);
    expect(body.some((r) => r.includes("everything.get-sum"))).toBe(true);
    expect(run.stdout).toMatch(/\d+ of \d+ matches/);
  });

  it("search --explain says where each score came from", async () => {
    const run = await skillsmith(
      [
        "search",
        "add two numbers together",
        "--config",
        configs.everything as string,
        "--limit",
        "2",
        "--explain",
      ],
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("why (terms as the index analyzed them):");
    expect(run.stdout).toMatch(
      /1\. everything\.get-sum: tool [\d.]+ \+ server [\d.]+ \+ name [\d.]+ \+ learned 0 \| matched .*number/,
    );
  });

  it("search refuses an unknown server, naming the known ones", async () => {
    const run = await skillsmith(
      ["search", "add numbers", "--config", configs.everything as string, "--server", "nope"],
      dir,
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('"nope"');
    expect(run.stderr).toContain("everything");
  });

  it("refuses bad usage with exit code 2", async () => {
    const usages = [["search", "x", "--limit", "0"], ["frobnicate"]];
    const runs = await Promise.all(usages.map((args) => skillsmith(args, dir)));
    runs.forEach((run, i) => {
      expect(run.code, usages[i]?.join(" ")).toBe(2);
      expect(run.stderr, usages[i]?.join(" ")).toMatch(/skillsmith/);
    });
  });

  it("prints its version and help", async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    expect((await skillsmith(["--version"], dir)).stdout.trim()).toBe(version);
    const help = await skillsmith(["--help"], dir);
    expect(help.code).toBe(0);
    for (const verb of ["serve", "search", "doctor"]) expect(help.stdout).toContain(`skillsmith ${verb}`);
  });
});
