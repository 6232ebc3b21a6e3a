// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config format itself uses ${VAR} in plain strings
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctorCommand } from "../../src/cli/doctor-command.js";
import { parseConfig } from "../../src/config.js";
import { SkillsmithError } from "../../src/errors.js";
import { createLogger } from "../../src/logger.js";
import { errorResult } from "../../src/tools/meta-tool.js";
import {
  type RunView,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { freePort } from "../helpers/redis.js";

const SECRET = "tok-9f2c41d7e0b3";
const ENV = { SKILLSMITH_TEST_TOKEN: SECRET, SKILLSMITH_TEST_ONE: "1" };

/** A server that fails to start, and says why on stderr quoting its arguments, token and all. */
const leaky = {
  command: process.execPath,
  args: [
    "-e",
    'console.error("unknown flag --token=" + process.argv[1]); process.exit(3)',
    "${SKILLSMITH_TEST_TOKEN}",
  ],
};

describe("values from ${VAR} in mcp.json", () => {
  let dir: string;
  let t: TestGateway;
  const logged: string[] = [];

  beforeAll(async () => {
    Object.assign(process.env, ENV);
    dir = await tempDir();
    const logger = createLogger("debug", (line) => logged.push(line));
    t = await startGateway({ mcpServers: { leaky }, skillsmith: { store: "memory:" } }, dir, { logger });
  });
  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
    for (const name of Object.keys(ENV)) delete process.env[name];
  });

  it("are kept by the config, short ones and defaults aside", () => {
    const config = parseConfig(
      {
        mcpServers: {
          a: {
            command: "x",
            args: ["--token=${SKILLSMITH_TEST_TOKEN}", "${SKILLSMITH_TEST_ONE}", "${NOPE:-fallback}"],
          },
        },
      },
      { env: ENV },
    );
    expect(config.secrets).toEqual([SECRET]);
  });

  it("are redacted in the server's status and its log lines", () => {
    const status = t.gateway.status().find((s) => s.name === "leaky");
    // Failed, or already retrying (every 50 ms here): the last failure is kept either way.
    expect(status?.error).toContain("--token=***");
    expect(status?.error).not.toContain(SECRET);
    const stderrLines = logged.filter((l) => l.includes("--token="));
    expect(stderrLines.length).toBeGreaterThan(0);
    expect(logged.join("\n")).not.toContain(SECRET);
  });

  it("are redacted in every error a client reads: probe, run, search", async () => {
    const probe = await t.call("probe_tool", { tool: "leaky.anything", arguments: {} });
    const run = await t.call("run_skill", {
      code: 'export default (i, { call }) => call("leaky.anything", {})',
    });
    for (const result of [probe, run]) {
      const everything = JSON.stringify(result);
      expect(everything).toContain("--token=***");
      expect(everything).not.toContain(SECRET);
    }
    expect((run.structuredContent as unknown as RunView).ok).toBe(false);
    expect(textOf(await t.call("search_tools", { query: "anything" }))).not.toContain(SECRET);
  });

  it("are redacted by errorResult, in the text and in every field of the data", () => {
    const result = errorResult(
      new SkillsmithError("CALL_FAILED", `Call failed: 401 for https://x.test/?key=${SECRET}`, {
        cause: { url: `https://x.test/?key=${SECRET}` },
      }),
    );
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(textOf(result)).toContain("key=***");
    expect(JSON.stringify(errorResult(new Error(`boom ${SECRET}`)))).not.toContain(SECRET);
  });

  it("are redacted in skillsmith doctor", async () => {
    const config = parseConfig(
      { mcpServers: { leaky }, skillsmith: { store: "memory:", registryDir: path.join(dir, "doctor") } },
      { baseDir: dir, env: ENV },
    );
    const out: string[] = [];
    const code = await doctorCommand(
      config,
      { out: (s) => out.push(s), err: () => {} },
      createLogger("error", () => {}),
    );
    expect(code).toBe(1);
    expect(out.join("\n")).toContain("--token=***");
    expect(out.join("\n")).not.toContain(SECRET);
  });
});

describe("a password in the store's URL", () => {
  it("is hidden in log lines and in the errors a client reads while the store is down", async () => {
    const dir = await tempDir();
    const logged: string[] = [];
    const logger = createLogger("debug", (line) => logged.push(line));
    // Nothing listens there: every store command fails, and each failure names the store.
    const store = `redis://:${SECRET}@127.0.0.1:${await freePort()}`;
    const t = await startGateway({ mcpServers: {}, skillsmith: { store } }, dir, { logger });
    try {
      const run = await t.call("run_skill", { code: "export default async () => 1" });
      const resume = await t.call("run_skill", { resume: "00000000-0000-4000-8000-000000000000" });
      const seen = [...logged, textOf(run), textOf(resume)].join("\n");
      expect(seen).toContain("redis://:***@127.0.0.1");
      expect(seen).not.toContain(SECRET);
      expect(seen).not.toMatch(/failed \(\)|: $/m);
    } finally {
      await t.close();
      await removeDir(dir);
    }
  });
});
