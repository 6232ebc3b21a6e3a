import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStateStore } from "../../src/store/state-store.js";
import {
  type RunView,
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

/** Lists the folder, needs go.txt, then leaves one file of its own in marks/: one file per time "mark" ran. */
const MARKS_ONCE = `export default async (input, { call, step }) => {
  await step("list", () => call("files.list_directory", { path: input.folder }));
  await step("check", () => call("files.read_text_file", { path: input.folder + "/go.txt" }));
  await step("mark", () => call("files.write_file", {
    path: input.folder + "/marks/" + Date.now() + "-" + Math.random().toString(36).slice(2) + ".txt",
    content: "ran",
  }));
  return "done";
}`;

const RESUMES = 8;

/**
 * One failed run, resumed by many clients at once (on one or two gateway instances sharing the store): one
 * resume runs, every other is refused naming it, and the step after the failure runs exactly once.
 */
function resumesOnce(
  kind: string,
  storeFor: (dir: string) => Promise<{ url: string; done(): Promise<void> }>,
  instances: number,
) {
  describe(`concurrent resumes on the ${kind} store`, () => {
    let dir: string;
    let root: string;
    let gateways: TestGateway[] = [];
    let done = async () => {};
    let storeUrl = "";

    beforeAll(async () => {
      dir = await tempDir();
      root = path.join(dir, "root");
      await mkdir(root);
      const store = await storeFor(dir);
      storeUrl = store.url;
      done = store.done;
      const config = {
        mcpServers: { files: { command: process.execPath, args: [realServers.files, root] } },
        skillsmith: { store: store.url },
      };
      for (let i = 0; i < instances; i++) gateways.push(await startGateway(config, dir));
    });
    afterAll(async () => {
      for (const g of gateways) await g.close();
      gateways = [];
      await done();
      await removeDir(dir);
    });

    it(`runs ${RESUMES} concurrent resumes of one failed run exactly once, refusing the others with its id`, async () => {
      const folder = path.join(root, "job");
      await mkdir(path.join(folder, "marks"), { recursive: true });
      const [first] = gateways;
      if (!first) throw new Error("no gateway");
      const failed = await first.call("run_skill", { code: MARKS_ONCE, input: { folder } });
      expect(failed.isError, textOf(failed)).toBe(true);
      const { runId } = failed.structuredContent as unknown as RunView;
      await writeFile(path.join(folder, "go.txt"), "go");

      const answers = await Promise.all(
        Array.from({ length: RESUMES }, (_, i) =>
          (gateways[i % gateways.length] ?? first).call("run_skill", { resume: runId }),
        ),
      );
      const ran = answers.filter((a) => !a.isError);
      expect(ran, answers.map(textOf).join("\n---\n")).toHaveLength(1);
      const view = ran[0]?.structuredContent as unknown as RunView;
      const successor = view.runId;
      expect(view.steps.map((s) => s.replayed)).toEqual([true, false, false]);
      for (const refused of answers.filter((a) => a.isError)) {
        expect(textOf(refused)).toContain(`already resumed by run "${successor}"`);
      }
      expect(await readdir(path.join(folder, "marks"))).toHaveLength(1);

      // Later, and on any instance, still refused; the successor itself finished and has nothing to resume.
      const again = await (gateways.at(-1) ?? first).call("run_skill", { resume: runId });
      expect(textOf(again)).toContain(`already resumed by run "${successor}"`);
      // (Another instance's record of it may not have reached the store yet: then it is "still running".)
      const ofSuccessor = await first.call("run_skill", { resume: successor });
      expect(textOf(ofSuccessor)).toMatch(/finished successfully|is still running/);
      expect(await readdir(path.join(folder, "marks"))).toHaveLength(1);
      if (storeUrl.startsWith("file:")) await expectNoStepValues(storeUrl, runId, successor);
    });
  });
}

/** Neither the resumed run's record nor its successor's (finished) keeps step values: nothing replays from them. */
async function expectNoStepValues(storeUrl: string, ...runIds: string[]): Promise<void> {
  const store = createStateStore(storeUrl);
  try {
    const runs = store.namespace<{ status: string; steps: Array<{ value: unknown }> }>("runs");
    for (const runId of runIds) {
      // The successor's final record is written in the background, after its answer.
      const record = await waitFor(async () => {
        const found = await runs.get(runId);
        return found && found.status !== "running" && found;
      }, `the final record of run ${runId}`);
      expect(record.steps.length).toBeGreaterThan(0);
      expect(record.steps.map((s) => s.value)).toEqual(record.steps.map(() => null));
    }
  } finally {
    await store.close();
  }
}

resumesOnce("memory", async () => ({ url: "memory:", done: async () => {} }), 1);
resumesOnce(
  "file (LMDB)",
  async (dir) => ({ url: `file:${path.join(dir, "state")}`, done: async () => {} }),
  2,
);
describe.skipIf(!hasRedis)("with redis-server", () => {
  resumesOnce(
    "Redis",
    async () => {
      const redis: TestRedis = await startRedis();
      return { url: redis.url, done: () => redis.stop() };
    },
    2,
  );
});
if (!hasRedis) console.warn("redis-server is not installed: the Redis resume test is skipped");

describe("a run left running by a gateway that died", () => {
  let dir: string;
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(path.join(dir, "root"));
    url = `file:${path.join(dir, "state")}`;
    t = await startGateway(
      {
        mcpServers: {
          files: { command: process.execPath, args: [realServers.files, path.join(dir, "root")] },
        },
        skillsmith: { store: url },
      },
      dir,
    );
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  /** A record as a gateway writes it when a run starts, and leaves it when it is killed. */
  async function leaveRunning(runId: string, startedAt: string): Promise<void> {
    const store = createStateStore(url);
    await store.namespace("runs").set(runId, {
      runId,
      code: `export default async () => "resumed";`,
      input: {},
      status: "running",
      steps: [],
      calls: 0,
      tools: [],
      logs: [],
      warnings: [],
      startedAt,
      tookMs: 0,
    });
    await store.close();
  }

  it("is resumed once its time limit has long passed, and refused while it may still be running", async () => {
    await leaveRunning("crashed-long-ago", "2020-01-01T00:00:00.000Z");
    const resumed = await t.call("run_skill", { resume: "crashed-long-ago" });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
    expect((resumed.structuredContent as unknown as RunView).result).toBe("resumed");

    await leaveRunning("maybe-running", new Date().toISOString());
    const refused = await t.call("run_skill", { resume: "maybe-running" });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/is still running .*can be resumed after/);
  });
});
