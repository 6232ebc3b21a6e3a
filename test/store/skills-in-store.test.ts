import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { type HttpHandle, startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";
import { createSkillStore } from "../../src/skills/skill-store.js";
import { openSkillStore, transferSkills } from "../../src/skills/skill-transfer.js";
import { createStateStore } from "../../src/store/state-store.js";
import {
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

const SUM = `export default async (input, { call, step }) => {
  const sum = await step("add", () => call("everything.get-sum", { a: input.a, b: input.b }));
  return { sum };
}`;

describe.skipIf(!hasRedis)(
  "skills in a Redis store, two instances with their own empty skill folders",
  () => {
    let dir: string;
    let redis: TestRedis;
    let a: TestGateway;
    let b: TestGateway;
    let http: HttpHandle;
    const config = (skillsDir: string) => ({
      mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
      skillsmith: { store: redis.url, skillsDir, registryDir: "registry" },
    });

    beforeAll(async () => {
      dir = await tempDir();
      redis = await startRedis(undefined, { dir });
      a = await startGateway(config("skills-a"), dir, { serving: true });
      b = await startGateway(config("skills-b"), dir, { serving: true });
      const limits = parseConfig(config("skills-a")).http;
      http = await startHttpServer(a.gateway, { host: "127.0.0.1", port: 0, limits }, silentLogger);
    });

    afterAll(async () => {
      await http?.close();
      await a?.close();
      await b?.close();
      await redis?.stop();
      await removeDir(dir);
    });

    const opsUrl = (route: string) => http.url.replace(/\/mcp$/, route);

    it("a skill saved through A is announced on B, listed there and runs there; after a restart both still list it", async () => {
      const announced = new Promise<string[]>((resolve) =>
        b.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
          const names = (await b.client.listTools()).tools.map((t) => t.name);
          if (names.includes("shared-sum")) resolve(names);
        }),
      );
      const saved = await a.call("save_skill", {
        name: "shared-sum",
        description: "add two numbers",
        code: SUM,
      });
      expect(saved.isError, textOf(saved)).toBeFalsy();
      expect(await announced).toContain("shared-sum");
      const ran = await b.call("shared-sum", { a: 2, b: 3 });
      expect(ran.isError, textOf(ran)).toBeFalsy();
      expect(JSON.stringify(ran.structuredContent)).toContain('"sum":"The sum of 2 and 3 is 5."');
      const found = await b.call("search_tools", { query: "add two numbers", server: "skills" });
      expect(JSON.stringify(found.structuredContent)).toContain("shared-sum");
      // Neither folder got a file: the store holds the skill.
      expect(await readdir(path.join(dir, "skills-b")).catch(() => [])).toEqual([]);

      await a.close();
      await b.close();
      a = await startGateway(config("skills-a"), dir, { serving: true });
      b = await startGateway(config("skills-b"), dir, { serving: true });
      for (const instance of [a, b]) {
        expect((await instance.client.listTools()).tools.map((t) => t.name)).toContain("shared-sum");
      }
      await http.close();
      const limits = parseConfig(config("skills-a")).http;
      http = await startHttpServer(a.gateway, { host: "127.0.0.1", port: 0, limits }, silentLogger);
    });

    it("versions hold across instances: a second save on B is v2, a save without overwrite is refused on either", async () => {
      expect(
        (await a.call("save_skill", { name: "versioned", description: "v1", code: SUM })).isError,
      ).toBeFalsy();
      const again = await b.call("save_skill", { name: "versioned", description: "again", code: SUM });
      expect(again.isError).toBe(true);
      expect(textOf(again)).toMatch(/exists \(version 1\)/);
      const v2 = await b.call("save_skill", {
        name: "versioned",
        description: "v2",
        code: SUM,
        overwrite: true,
      });
      expect((v2.structuredContent as { version: number }).version).toBe(2);
      // Saves at once on both instances each get their own version.
      const both = await Promise.all(
        [a, b].map((g, i) =>
          g.call("save_skill", { name: "versioned", description: `race ${i}`, code: SUM, overwrite: true }),
        ),
      );
      const versions = both.map((r) => (r.structuredContent as { version: number }).version).sort();
      expect(versions).toEqual([3, 4]);
    });

    it("a skill removed through A is gone on B too; saved again, it goes on from the next version", async () => {
      const save = () =>
        a.call("save_skill", { name: "short-lived", description: "x", code: SUM, overwrite: true });
      expect(((await save()).structuredContent as { version: number }).version).toBe(1);
      expect((await b.call("short-lived", { a: 1, b: 1 })).isError).toBeFalsy();
      const gone = new Promise<void>((resolve) =>
        b.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
          const names = (await b.client.listTools()).tools.map((t) => t.name);
          if (!names.includes("short-lived")) resolve();
        }),
      );
      await a.gateway.skills.remove("short-lived");
      await gone;
      expect(await b.gateway.skills.versions("short-lived")).toEqual([]);
      await expect(a.gateway.skills.remove("short-lived")).rejects.toThrow(/No skill named "short-lived"/);
      expect(((await save()).structuredContent as { version: number }).version).toBe(2);
      const restored = await b.gateway.skills.restore("short-lived", 2);
      expect(restored.version).toBe(3);
      // Its history stayed through the removal.
      expect((await a.gateway.skills.versions("short-lived")).map((v) => v.version)).toEqual([1, 2, 3]);
    });

    it("export writes every version to a folder; import into another store keeps the numbers and reports conflicts", async () => {
      for (const [instance, version] of [
        [a, 1],
        [b, 2],
      ] as const) {
        const saved = await instance.call("save_skill", {
          name: "exported",
          description: `v${version}`,
          code: `${SUM}\n// v${version}\n`,
          overwrite: true,
        });
        expect((saved.structuredContent as { version: number }).version).toBe(version);
      }
      const state = createStateStore(redis.url);
      const out = path.join(dir, "exported");
      try {
        const exported = await transferSkills(
          openSkillStore(path.join(dir, "unused"), state, silentLogger),
          createSkillStore(out, silentLogger, state),
        );
        expect(exported.find((e) => e.name === "exported")).toMatchObject({
          added: [1, 2],
          conflicts: [],
          current: 2,
        });
        const meta = JSON.parse(await readFile(path.join(out, "exported.json"), "utf8")) as {
          version: number;
        };
        expect(meta.version).toBe(2);
        expect(await readFile(path.join(out, ".versions", "exported", "v1.js"), "utf8")).toMatch(/\/\/ v1/);
        expect(await readdir(path.join(out, ".versions", "exported"))).toHaveLength(4);

        // Again: everything is already there.
        const again = await transferSkills(
          openSkillStore(path.join(dir, "unused"), state, silentLogger),
          createSkillStore(out, silentLogger, state),
        );
        expect(again.every((e) => e.added.length === 0 && e.conflicts.length === 0)).toBe(true);

        // Into a store whose v1 of the same name holds other code: a conflict, left alone.
        const other = createStateStore("memory:");
        const target = createSkillStore(path.join(dir, "target"), silentLogger, other);
        await target.save(
          {
            name: "exported",
            description: "other",
            inputSchema: {},
            tools: {},
            code: "export default () => 0",
          },
          { overwrite: false },
        );
        const imported = await transferSkills(createSkillStore(out, silentLogger, other), target);
        expect(imported.find((e) => e.name === "exported")).toMatchObject({
          added: [2],
          conflicts: [1],
          current: 2,
        });
        await other.close();
      } finally {
        await state.close();
      }
    });

    it("/metrics counts a run and its calls; /healthz answers", async () => {
      const metric = async (pattern: RegExp) => {
        const text = await (await fetch(opsUrl("/metrics"))).text();
        return Number(pattern.exec(text)?.[1] ?? 0);
      };
      const runs = /skillsmith_operations_total\{operation="run",outcome="ok"\} (\d+)/;
      const calls = /skillsmith_tool_calls_total\{server="everything",tool="get-sum",outcome="ok"\} (\d+)/;
      const [runsBefore, callsBefore] = [await metric(runs), await metric(calls)];
      const ran = await a.call("run_skill", { code: SUM, input: { a: 1, b: 1 } });
      expect(ran.isError, textOf(ran)).toBeFalsy();
      expect(await metric(runs)).toBe(runsBefore + 1);
      expect(await metric(calls)).toBe(callsBefore + 1);
      const text = await (await fetch(opsUrl("/metrics"))).text();
      expect(text).toMatch(/skillsmith_run_duration_seconds_count \d+/);
      expect(text).toMatch(/skillsmith_sandbox_workers \d+/);
      expect(text).toMatch(/skillsmith_sandbox_queue_depth 0/);
      const health = await fetch(opsUrl("/healthz"));
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok" });
    });

    it("/readyz turns not ready while Redis is down and ready again when it is back", async () => {
      const readiness = async () => {
        const res = await fetch(opsUrl("/readyz"));
        return {
          status: res.status,
          body: (await res.json()) as { ready: boolean; store: { reachable: boolean } },
        };
      };
      const saved = await a.call("save_skill", { name: "outage-sum", description: "x", code: SUM });
      expect(saved.isError, textOf(saved)).toBeFalsy();
      // B knows it before the outage (a name it has not heard of is looked up in the store).
      expect((await b.call("outage-sum", { a: 1, b: 1 })).isError).toBeFalsy();
      const up = await readiness();
      expect(up.status).toBe(200);
      expect(up.body).toMatchObject({ ready: true, store: { reachable: true } });
      await redis.stop();
      const down = await waitFor(async () => {
        const r = await readiness();
        return r.status === 503 && r;
      }, "readyz to say not ready");
      expect(down.body).toMatchObject({ ready: false, store: { reachable: false } });
      // A save needs the store: refused, naming it; the skills known here still run.
      const refused = await b.call("save_skill", { name: "during-outage", description: "x", code: SUM });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/could not lock the name in the store redis:.*nothing was written/);
      const still = await b.call("outage-sum", { a: 1, b: 2 });
      expect(still.isError, textOf(still)).toBeFalsy();
      redis = await startRedis(redis.port, { dir });
      await waitFor(async () => (await readiness()).status === 200, "readyz to say ready again", 20_000);
      // Redis kept its data (an append-only file): the skills are there, and saves work again.
      expect((await a.client.listTools()).tools.map((t) => t.name)).toContain("outage-sum");
      const after = await b.call("save_skill", { name: "after-outage", description: "x", code: SUM });
      expect(after.isError, textOf(after)).toBeFalsy();
    });
  },
);
