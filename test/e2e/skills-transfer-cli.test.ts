import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as skillsmith } from "../helpers/cli.js";
import { removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, repoRoot } from "../helpers/processes.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

describe("skillsmith skills export / import: usage", () => {
  it("refuses a bad subcommand or a missing folder, and an unknown log format, with exit code 2", async () => {
    assertBuilt();
    const dir = await tempDir("skillsmith-cli-");
    try {
      for (const args of [
        ["skills", "export"],
        ["skills", "move", "x"],
        ["skills", "import", "a", "b"],
      ]) {
        const run = await skillsmith(args, dir);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/export <dir> or import <dir>/);
      }
      const run = await skillsmith(["skills", "--log-format", "xml"], dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--log-format must be text or json/);
    } finally {
      await removeDir(dir);
    }
  });
});

describe.skipIf(!hasRedis)("skillsmith skills export / import with a Redis store", () => {
  let dir: string;
  let redis: TestRedis;
  let db = 0;

  /** A config on a Redis database of its own, so each test starts from an empty store. */
  async function freshConfig(): Promise<string> {
    db += 1;
    const config = path.join(dir, `mcp-${db}.json`);
    await writeFile(
      config,
      JSON.stringify({ mcpServers: {}, skillsmith: { store: `${redis.url}/${db}`, skillsDir: "empty" } }),
    );
    return config;
  }

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-cli-");
    redis = await startRedis();
    await cp(path.join(repoRoot, "skills"), path.join(dir, "examples"), { recursive: true });
  });

  afterAll(async () => {
    await redis?.stop();
    await removeDir(dir);
  });

  it("imports a folder into the store, lists it from there, and exports it whole to another folder", async () => {
    const config = await freshConfig();
    const empty = await skillsmith(["skills", "--config", config], dir);
    expect(empty.stdout).toMatch(/No skills in redis:\/\/127\.0\.0\.1/);

    const imported = await skillsmith(["skills", "import", "examples", "--config", config], dir);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/sum-pairs\s+v\d+\s+v\d+/);
    expect(imported.stdout).toMatch(/Imported 2 skill\(s\) to redis:/);

    const listed = await skillsmith(["skills", "--config", config], dir);
    expect(listed.stdout).toMatch(/remember-folder/);
    expect(listed.stdout).toMatch(/sum-pairs/);
    expect(await readdir(path.join(dir, "empty")).catch(() => [])).toEqual([]);

    const exported = await skillsmith(["skills", "export", "out", "--config", config], dir);
    expect(exported.code, exported.stderr).toBe(0);
    const original = await readFile(path.join(repoRoot, "skills", "sum-pairs.js"), "utf8");
    expect(await readFile(path.join(dir, "out", "sum-pairs.js"), "utf8")).toBe(original);

    // Again: nothing new, nothing conflicting.
    const again = await skillsmith(["skills", "import", "examples", "--config", config], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/sum-pairs\s+v\d+\s+-\s+v\d+\s+-/);
  });

  it("reports a version that exists with other code as a conflict, leaves it, and exits 1", async () => {
    const config = await freshConfig();
    const changed = path.join(dir, "changed");
    await cp(path.join(repoRoot, "skills"), changed, { recursive: true });
    await writeFile(path.join(changed, "sum-pairs.js"), "export default async () => 0;\n");
    expect((await skillsmith(["skills", "import", "examples", "--config", config], dir)).code).toBe(0);
    const run = await skillsmith(["skills", "import", "changed", "--config", config], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/sum-pairs: some versions already exist .* with other code/);
  });
});
