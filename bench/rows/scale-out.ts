import { mkdtemp, writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { parseConfig } from "../../src/config.js";
import { createGateway } from "../../src/gateway.js";
import { createServer } from "../../src/server.js";
import { hasBinary, REDIS_SERVER, startGatewayHttp, startRedis } from "../load/services.js";
import { type BenchContext, compare, missing, type RowGroup } from "../report.js";
import { median } from "../stats.js";

/**
 * Two gateway instances with their own empty skill folders on one Redis store: how soon a skill saved through A
 * is announced (list_changed) and runs on B, against the same on A itself, in the same run.
 */
const GROUP = "10 Scale-out";
const CODE = "export default async (input) => ({ echoed: input.n });";

interface Instance {
  client: Client;
  close(): Promise<void>;
}

const skillsmithOf = (name: string, store: string) => ({
  mcpServers: {},
  skillsmith: { store, skillsDir: `skills-${name}`, registryDir: `registry-${name}` },
});

/** A serving gateway in this process (subscribed to the store's channel), with an SDK client in front. */
async function inProcess(dir: string, name: string, store: string): Promise<Instance> {
  const gateway = createGateway({
    config: parseConfig(skillsmithOf(name, store), { baseDir: dir }),
    serving: true,
  });
  await gateway.start();
  const server = createServer(gateway);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: `bench-${name}`, version: "0" });
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
      await gateway.close();
    },
  };
}

/** `skillsmith serve --http` from dist, with an SDK client over Streamable HTTP (its event stream open). */
async function overHttp(root: string, dir: string, name: string, store: string): Promise<Instance> {
  const config = path.join(dir, `mcp-${name}.json`);
  await writeFile(config, JSON.stringify(skillsmithOf(name, store)));
  const gateway = await startGatewayHttp(root, config);
  const client = new Client({ name: `bench-${name}`, version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
  return {
    client,
    async close() {
      await client.close();
      await gateway.stop();
    },
  };
}

/** Resolves with the time of the client's next list_changed. */
function nextAnnouncement(client: Client): Promise<number> {
  return new Promise<number>((resolve) =>
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve(performance.now())),
  );
}

async function run(instance: Instance, skill: string, n: number): Promise<void> {
  const result = await instance.client.callTool({ name: skill, arguments: { n } });
  if (result.isError) throw new Error(`${skill} failed: ${JSON.stringify(result.content)}`);
}

/**
 * Saves `trials` skills through A; for each: when A's and B's clients hear list_changed (after the save began),
 * and how long the first run takes on each, started the moment the save answers (alternating which goes first).
 */
async function measure(a: Instance, b: Instance, trials: number, prefix: string) {
  const heard = { a: [] as number[], b: [] as number[] };
  const ran = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < trials; i++) {
    const skill = `${prefix}-${i}`;
    const [heardA, heardB] = [nextAnnouncement(a.client), nextAnnouncement(b.client)];
    const started = performance.now();
    const saved = await a.client.callTool({
      name: "save_skill",
      arguments: { name: skill, description: "echo a number", code: CODE },
    });
    if (saved.isError) throw new Error(`save failed: ${JSON.stringify(saved.content)}`);
    for (const [key, target] of i % 2 === 0
      ? ([
          ["b", b],
          ["a", a],
        ] as const)
      : ([
          ["a", a],
          ["b", b],
        ] as const)) {
      const from = performance.now();
      await run(target, skill, i);
      ran[key].push(performance.now() - from);
    }
    heard.a.push((await heardA) - started);
    heard.b.push((await heardB) - started);
  }
  return { heard, ran };
}

export const scaleOut: RowGroup = {
  name: "scale-out",
  async run(context: BenchContext) {
    const kinds = [
      ["in-process", "two gateways in this process"],
      ["HTTP", "two `serve --http` processes, SDK clients over Streamable HTTP"],
    ] as const;
    const measures = (kind: string) => [
      `skill saved through A, ${kind}: list_changed on B vs on A (ms after the save began)`,
      `first run of a skill just saved through A, ${kind}: on B vs on A`,
    ];
    if (!hasBinary(REDIS_SERVER, "--version")) {
      return kinds.flatMap(([kind]) =>
        measures(kind).map((m) => missing(GROUP, m, "redis-server is not installed")),
      );
    }
    const trials = context.quick ? 5 : 15;
    const dir = await mkdtemp(path.join(context.tmp, "scale-out-"));
    const redis = await startRedis();
    const rows = [];
    try {
      for (const [kind, how] of kinds) {
        const open = (name: string) =>
          kind === "HTTP" ? overHttp(context.root, dir, name, redis.url) : inProcess(dir, name, redis.url);
        const [a, b] = [await open(`${kind}-a`), await open(`${kind}-b`)];
        try {
          const { heard, ran } = await measure(a, b, trials, kind === "HTTP" ? "http" : "local");
          const note = `median of ${trials} saves; ${how}, one Redis (pub/sub), each with its own empty skill folder`;
          const [announce, firstRun] = measures(kind);
          rows.push(
            compare(
              GROUP,
              announce ?? "",
              median(heard.b),
              median(heard.a),
              "ms",
              `${note}; baseline = the saving instance's own list_changed; target ≤ 1,000 ms`,
            ),
            compare(
              GROUP,
              firstRun ?? "",
              median(ran.b),
              median(ran.a),
              "ms",
              `${note}; run right after the save answered (alternating which instance goes first): a name B has not heard of yet is looked up in the store; baseline = the run on A (which saved it)`,
            ),
          );
        } finally {
          await a.close();
          await b.close();
        }
      }
    } finally {
      await redis.stop();
    }
    return rows;
  },
};
