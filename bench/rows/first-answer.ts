import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectDirect, gatewayConfig, spawnGateway, writeConfig } from "../clients.js";
import { realServers } from "../fixtures.js";
import { type BenchContext, compare, type Row, type RowGroup } from "../report.js";
import { median } from "../stats.js";

/**
 * A new user's first minute: from spawning the built gateway to the first useful answer of one call made at
 * once (no polling, no sleep) — a search, a probe, a skill run — on a cold folder (no snapshots) and after a
 * restart (snapshots present). The baseline: a direct SDK client spawning that server and making the same call.
 */

/** A saved skill written as the skills folder holds it, so the cold run needs no save first. */
async function writeSkill(dir: string): Promise<void> {
  const skills = path.join(dir, "skills");
  await mkdir(skills, { recursive: true });
  const now = new Date().toISOString();
  await writeFile(
    path.join(skills, "add-up.js"),
    'export default async (input, { call, step }) => step("sum", () => call("everything.get-sum", input));\n',
  );
  await writeFile(
    path.join(skills, "add-up.json"),
    JSON.stringify({
      name: "add-up",
      description: "Adds two numbers.",
      inputSchema: { type: "object" },
      version: 1,
      createdAt: now,
      updatedAt: now,
      tools: {},
    }),
  );
}

type Call = { name: string; arguments: Record<string, unknown> };

const CALLS = (filesRoot: string): Record<string, Call> => ({
  search: { name: "search_tools", arguments: { query: "list the files of a directory", server: "files" } },
  probe: {
    name: "probe_tool",
    arguments: { tool: "files.list_directory", arguments: { path: filesRoot }, fresh: true },
  },
  "skill run": { name: "run_skill", arguments: { name: "add-up", input: { a: 2, b: 3 } } },
});

/** The direct baseline's matching call: which server, and what to call on it. */
const DIRECT: Record<string, { server: string; call: (c: Client, filesRoot: string) => Promise<unknown> }> = {
  search: { server: "files", call: (c) => c.listTools() },
  probe: {
    server: "files",
    call: (c, root) => c.callTool({ name: "list_directory", arguments: { path: root } }),
  },
  "skill run": {
    server: "everything",
    call: (c) => c.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }),
  },
};

async function gatewayAnswer(context: BenchContext, dir: string, call: Call, cold: boolean): Promise<number> {
  if (cold) await rm(path.join(dir, "registry"), { recursive: true, force: true });
  const started = performance.now();
  const client = await spawnGateway(context.root, path.join(dir, "mcp.json"));
  try {
    const result = await client.callTool(call);
    const ms = performance.now() - started;
    const text = JSON.stringify(result.structuredContent ?? result.content);
    if (result.isError || text.includes('"results":[]'))
      throw new Error(`${call.name} gave no useful answer: ${text.slice(0, 300)}`);
    return ms;
  } finally {
    await client.close();
  }
}

export const firstAnswer: RowGroup = {
  name: "first-answer",
  async run(context: BenchContext) {
    const rounds = context.quick ? 1 : 3;
    const dir = await mkdtemp(path.join(context.tmp, "first-answer-"));
    const servers = await realServers(dir);
    const filesRoot = path.join(dir, "files");
    await writeFile(path.join(filesRoot, "notes.txt"), "hello");
    await writeSkill(dir);
    await writeConfig(dir, gatewayConfig(servers, dir));
    const rows: Row[] = [];
    for (const [what, call] of Object.entries(CALLS(filesRoot))) {
      const cold: number[] = [];
      const warm: number[] = [];
      const direct: number[] = [];
      const baseline = DIRECT[what];
      if (!baseline) throw new Error(`no baseline for ${what}`);
      for (let round = 0; round < rounds; round++) {
        cold.push(await gatewayAnswer(context, dir, call, true));
        warm.push(await gatewayAnswer(context, dir, call, false));
        const started = performance.now();
        const client = await connectDirect(servers[baseline.server] ?? { command: "missing", args: [] });
        await baseline.call(client, filesRoot);
        direct.push(performance.now() - started);
        await client.close();
      }
      context.log(`first-answer: ${what} done`);
      const note = `median of ${rounds}; one call at once after spawn; baseline = a direct client spawns ${baseline.server} and makes the call`;
      rows.push(
        compare(
          "7 First answer",
          `first ${what}, cold (no snapshots)`,
          median(cold),
          median(direct),
          "ms",
          note,
        ),
      );
      rows.push(
        compare("7 First answer", `first ${what}, after a restart`, median(warm), median(direct), "ms", note),
      );
    }
    return rows;
  },
};
