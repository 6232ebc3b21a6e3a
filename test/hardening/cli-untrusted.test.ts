import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, fixtureEntry } from "../helpers/processes.js";

/**
 * The built bin against the untrusted fixture server. In a child process a frozen gateway cannot stop the
 * test's clock: runCli gives up after 30 s, where a backtracking engine needs ages for `^(a+)+$` on 41 chars.
 */
describe("the CLI against a hostile server", () => {
  let dir: string;
  let config: string;

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-untrusted-");
    config = path.join(dir, "mcp.json");
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: { untrusted: fixtureEntry("untrusted-server") },
        skillsmith: { store: "memory:" },
      }),
    );
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("checks an argument against a catastrophic pattern and answers", async () => {
    const args = JSON.stringify({ code: `${"a".repeat(40)}!` });
    const run = await runCli(["probe", "untrusted.lookup", args, "--config", config], dir);
    expect(run.code).not.toBeNull();
    expect(`${run.stdout}${run.stderr}`).toContain('code: must match pattern "^(a+)+$"');
  });

  it("lists the lookalike tool names in doctor", async () => {
    const run = await runCli(["doctor", "--config", config], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Lookalike tool names");
    expect(run.stdout).toContain("untrusted.read_\\u{200b}file looks like untrusted.read_file");
    expect(run.stdout).toContain("untrusted.READ_FILE looks like");
    expect(run.stdout).not.toContain("untrusted.lookup looks like");
  });
});
