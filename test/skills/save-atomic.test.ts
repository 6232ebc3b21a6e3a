import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { createSkillStore, type SkillStore } from "../../src/skills/skill-store.js";
import { openSkillStore } from "../../src/skills/skill-transfer.js";
import { createStateStore, type StateStore } from "../../src/store/state-store.js";
import { removeDir, startGateway, type TestGateway, tempDir, textOf } from "../helpers/gateway.js";
import { repoRoot } from "../helpers/processes.js";
import { hasRedis, startRedis } from "../helpers/redis.js";

const require = createRequire(import.meta.url);

/** A save whose code and metadata both carry `id`, so a reader can tell whether they belong together. */
const saveOf = (name: string, id: string, overwrite = true) => ({
  name,
  description: `save ${id}`,
  code: `// save ${id}\nexport default async () => "${id}";\n`,
  overwrite,
});

interface Saved {
  version: number;
}

/**
 * The version kept as `v<version>` holds the save `id`, code and metadata alike: read back from where the
 * skills live (the folder's `.versions/`, or the Redis store), not from any gateway's memory.
 */
async function expectKept(kept: SkillStore, name: string, version: number, id: string): Promise<void> {
  await kept.load();
  const found = (await kept.versions(name)).find((v) => v.version === version);
  expect(found).toMatchObject({ version, description: `save ${id}` });
  expect(found?.code).toContain(`// save ${id}\n`);
}

async function tempsIn(...dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) found.push(...(await readdir(dir)).filter((f) => f.endsWith(".tmp")));
  return found;
}

/** Two instances on one skills folder sharing a store, as two `skillsmith serve` (on one host for `file:`). */
function savesOneAtATime(kind: string, storeFor: () => Promise<{ url: string; done(): Promise<void> }>) {
  describe(`saves on the ${kind} store, one at a time per name, each one atomic`, () => {
    let dir: string;
    let skillsDir: string;
    let a: TestGateway;
    let b: TestGateway;
    let done = async () => {};
    let reader: StateStore;
    let kept: SkillStore;

    beforeAll(async () => {
      const store = await storeFor();
      done = store.done;
      dir = await tempDir();
      skillsDir = path.join(dir, "skills");
      const config = { mcpServers: {}, skillsmith: { store: store.url } };
      a = await startGateway(config, dir);
      b = await startGateway(config, dir);
      // Reads only: a Redis store is read where the skills live; a folder needs no shared store to be read.
      reader = createStateStore(store.url.startsWith("redis:") ? store.url : "memory:");
      kept = openSkillStore(skillsDir, reader, silentLogger);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await reader?.close();
      await done();
      await removeDir(dir);
    });

    it("gives 20 concurrent overwrites of one name 20 distinct versions, each on disk as it answered", async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => a.call("save_skill", saveOf("racer", `r${i}`))),
      );
      const versions = answers.map((answer) => {
        expect(answer.isError, textOf(answer)).toBeFalsy();
        return (answer.structuredContent as unknown as Saved).version;
      });
      expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      for (const [i, version] of versions.entries()) await expectKept(kept, "racer", version, `r${i}`);
      expect((await kept.load()).find((skill) => skill.name === "racer")?.version).toBe(20);
    });

    it("loses no version when two instances save one name: the folder, not memory, says what exists", async () => {
      const first = await a.call("save_skill", saveOf("shared", "a1", false));
      expect((first.structuredContent as unknown as Saved).version).toBe(1);
      // B has not reloaded the folder, yet it sees the save A just made.
      const taken = await b.call("save_skill", saveOf("shared", "b1", false));
      expect(taken.isError).toBe(true);
      expect(textOf(taken)).toMatch(/exists \(version 1\); pass overwrite: true/);
      const over = await b.call("save_skill", saveOf("shared", "b2"));
      expect((over.structuredContent as unknown as Saved).version).toBe(2);
      await expectKept(kept, "shared", 1, "a1");

      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).call("save_skill", saveOf("shared", `c${i}`))),
      );
      const versions = answers.map((answer) => (answer.structuredContent as unknown as Saved).version);
      expect(new Set(versions).size).toBe(16);
      expect(Math.min(...versions)).toBe(3);
      for (const [i, version] of versions.entries()) await expectKept(kept, "shared", version, `c${i}`);
    });
  });
}

savesOneAtATime("file (LMDB)", async () => ({ url: "file:state", done: async () => {} }));
describe.skipIf(!hasRedis)("with redis-server", () => {
  savesOneAtATime("Redis", async () => {
    const redis = await startRedis();
    return { url: redis.url, done: () => redis.stop() };
  });
});
if (!hasRedis) console.warn("redis-server is not installed: the Redis save test is skipped");

describe("kill -9 in the middle of saves", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => removeDir(dir));

  const KILLS = 30;

  it(`leaves the current version whole after each of ${KILLS} kills, and every answered version findable`, async () => {
    const skillsDir = path.join(dir, "skills");
    const stateDir = path.join(dir, "state");
    const tsx = pathToFileURL(require.resolve("tsx")).href;
    const fixture = path.join(repoRoot, "test", "fixtures", "save-loop.ts");
    const answered = new Map<number, string>();
    let whole = 0;
    let lastPid = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawn(process.execPath, ["--import", tsx, fixture, skillsDir, stateDir, "churn"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.on("exit", (code) => reject(new Error(`the saving child exited (${code}) before it saved`)));
        child.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve();
        });
      });
      // Somewhere in a later save: a random point, at the scale of one save.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      child.kill("SIGKILL");
      lastPid = child.pid ?? 0;
      if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
      // Only whole lines: the last one may have been cut by the kill.
      for (const line of out.split("\n").slice(0, -1)) {
        const [, version, id] = /^saved (\d+) (\S+)$/.exec(line) ?? [];
        if (version && id) answered.set(Number(version), id);
      }

      const reader = createSkillStore(skillsDir, silentLogger, createStateStore("memory:"));
      await reader.load();
      const skill = reader.get("churn");
      const ofCode = skill && /^\/\/ save (\S+)/.exec(skill.code)?.[1];
      const ofMeta = skill?.description.replace(/^save /, "");
      const ofSchema = Object.keys((skill?.inputSchema.properties ?? {}) as object)[0];
      if (ofCode !== undefined && ofCode === ofMeta && ofSchema === `p${ofMeta}`) whole++;
    }
    console.info(
      `kill -9 during saves: ${whole}/${KILLS} left a whole current version; ${answered.size} saves answered`,
    );
    expect(whole).toBe(KILLS);
    expect(answered.size).toBeGreaterThan(0);
    for (const [version, id] of answered)
      await expectKept(
        createSkillStore(skillsDir, silentLogger, createStateStore("memory:")),
        "churn",
        version,
        id,
      );
    // A load sweeps what killed writers left (here also one planted in the name of the last, dead, child).
    await writeFile(path.join(skillsDir, `.churn.json.${lastPid}.0123abcd.tmp`), "{");
    await createSkillStore(skillsDir, silentLogger, createStateStore("memory:")).load();
    expect(await tempsIn(skillsDir, path.join(skillsDir, ".versions", "churn"))).toEqual([]);
  }, 240_000);
});
