import type { Root, Tool } from "@modelcontextprotocol/sdk/types.js";
import { createToolCalls } from "./calls/tool-calls.js";
import { type Catalog, createCatalog } from "./catalog/catalog.js";
import { clip, paramsLine } from "./catalog/render.js";
import { createSnapshots } from "./catalog/snapshots.js";
import { type ToolRecord, toToolRecord } from "./catalog/tool-record.js";
import type { Config } from "./config.js";
import type { ServerStatus } from "./downstream/connection.js";
import { createPool, type Pool, type PoolOptions } from "./downstream/pool.js";
import { errorMessage } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { META_TOOL_NAMES } from "./meta-tool-names.js";
import { createProber, type ProbeContext, type ProbeRequest, type ProbeResult } from "./probe/prober.js";
import { createObservations } from "./shapes/observations.js";
import { renderShape } from "./shapes/shape.js";
import { createSkillRunner } from "./skills/runner.js";
import { createSandbox, type Sandbox } from "./skills/sandbox/sandbox.js";
import { createSkillStore } from "./skills/skill-store.js";
import { createSkills, type Skills } from "./skills/skills.js";
import { watchSkills } from "./skills/skills-watcher.js";
import { createStateStore, type StateStore } from "./store/state-store.js";
import { VERSION } from "./version.js";

export type Detail = "name" | "summary" | "full";

export interface SearchInput {
  query: string;
  limit: number;
  server?: string;
  detail: Detail;
}

export interface SearchResultItem {
  name: string;
  kind: "tool" | "skill";
  server: string;
  score: number;
  description?: string;
  params?: string;
  inputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  /** The observed shape of the tool's answers (one line at "summary", whole at "full"), once probed or called. */
  returns?: string;
}

export interface SearchOutput {
  results: SearchResultItem[];
  total: number;
  /** Servers still connecting whose tools are not searchable yet (no snapshot of them either). */
  connecting?: string[];
}

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** Test seams for the downstream connections (backoff, transports). */
  connection?: PoolOptions["connection"];
  /**
   * A long-lived server: start the sandbox's workers at once rather than at the first skill, and watch the
   * skills folder for skills saved by other instances (a one-shot CLI command does neither).
   */
  serving?: boolean;
}

export interface Gateway {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly pool: Pool;
  readonly store: StateStore;
  readonly skills: Skills;
  readonly sandbox: Sandbox;
  /** Loads snapshots (so search answers at once), then starts connecting every server in the background. */
  start(): Promise<void>;
  /** Resolves when every server has connected or failed once. */
  settled(): Promise<void>;
  /** On a first start, waits (up to `searchWaitMs`) for servers that have neither a snapshot nor a listing yet. */
  search(input: SearchInput): Promise<SearchOutput>;
  probe(request: ProbeRequest, context?: ProbeContext): Promise<ProbeResult>;
  /**
   * A client in front of the gateway offers its roots to the downstream servers (the union of every client's
   * roots is what a server gets on roots/list). Returns the way to withdraw them, when that client goes.
   */
  offerRoots(source: RootsSource): () => void;
  /** A client said its roots changed: the servers are told, and ask again. */
  rootsChanged(): void;
  status(): ServerStatus[];
  close(): Promise<void>;
}

export interface RootsSource {
  listRoots(): Promise<Root[]>;
}

const SUMMARY_CHARS = 200;
/** A client that does not answer roots/list in this time is left out of the union. */
const ROOTS_TIMEOUT_MS = 5000;

function sameTools(a: ToolRecord[] | undefined, b: ToolRecord[]): boolean {
  if (!a || a.length !== b.length) return false;
  const hashes = new Set(a.map((r) => `${r.name}#${r.hash}`));
  return b.every((r) => hashes.has(`${r.name}#${r.hash}`));
}

export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const enabled = config.servers.filter((s) => !s.options.disabled);
  const catalog = createCatalog(enabled.map((s) => s.name));
  const snapshots = createSnapshots(config.registryDir, logger);
  const saved = new Map<string, ToolRecord[]>();
  const pending = new Set<Promise<void>>();
  const store = createStateStore(config.store, logger);
  const observations = createObservations(store);
  const optionsOf = new Map(config.servers.map((s) => [s.name, s.options]));

  const onTools = (server: string, tools: Tool[]) => {
    const records = tools.map((t) => toToolRecord(server, t));
    catalog.setServerTools(server, records);
    if (sameTools(saved.get(server), records)) return;
    saved.set(server, records);
    const write = snapshots
      .save(server, records)
      .catch((error) => logger.warn(`could not write the snapshot of "${server}": ${errorMessage(error)}`))
      .finally(() => pending.delete(write));
    pending.add(write);
  };

  const rootsSources = new Set<RootsSource>();
  async function unionOfRoots(): Promise<Root[]> {
    const lists = await Promise.all(
      [...rootsSources].map((source) =>
        Promise.race([
          source.listRoots(),
          new Promise<Root[]>((resolve) => setTimeout(resolve, ROOTS_TIMEOUT_MS, []).unref()),
        ]).catch((error: unknown) => {
          logger.debug(`a client's roots/list failed: ${errorMessage(error)}`);
          return [];
        }),
      ),
    );
    const byUri = new Map<string, Root>();
    for (const root of lists.flat()) if (!byUri.has(root.uri)) byUri.set(root.uri, root);
    return [...byUri.values()];
  }

  const pool = createPool({
    servers: config.servers,
    logger,
    version: VERSION,
    onTools,
    startupWaitMs: config.startupWaitMs,
    roots: unionOfRoots,
    ...(options.connection && { connection: options.connection }),
  });

  let realSandbox: Sandbox | undefined;
  const startSandbox = () => {
    realSandbox ??= createSandbox({ workers: config.sandbox.workers, logger });
    return realSandbox;
  };
  const sandbox: Sandbox = {
    run: (job, hooks) => startSandbox().run(job, hooks),
    compile: (code) => startSandbox().compile(code),
    stats: () => realSandbox?.stats() ?? { workers: 0, busy: 0, queued: 0, replaced: 0 },
    close: async () => realSandbox?.close(),
  };
  const calls = createToolCalls({ catalog, pool, observations, logger });
  const runner = createSkillRunner({ sandbox, store, catalog, calls, limits: config.sandbox, logger });
  const skills = createSkills({
    store: createSkillStore(config.skillsDir, logger),
    sandbox,
    runner,
    catalog,
    calls,
    reserved: META_TOOL_NAMES,
  });

  let stopWatching = () => {};

  /** Servers still making their first connection with nothing of theirs in the catalog: search would miss them. */
  async function unlisted(server: string | undefined): Promise<void> {
    const waiting = pool
      .status()
      .filter((s) => s.state === "connecting" && (server === undefined || s.name === server))
      .filter((s) => catalog.tools(s.name).length === 0);
    if (waiting.length === 0 || config.searchWaitMs === 0) return;
    const budget = AbortSignal.timeout(config.searchWaitMs);
    // A server that fails or stays slow is reported as connecting in the answer, not as an error.
    await Promise.all(waiting.map((s) => pool.ready(s.name, budget).catch(() => {})));
  }

  const prober = createProber({
    calls,
    store,
    serverOptions: (server) => {
      const found = optionsOf.get(server);
      if (!found) throw new Error(`no options for server "${server}"`);
      return found;
    },
  });

  return {
    config,
    catalog,
    pool,
    store,
    skills,
    sandbox,
    async start() {
      await Promise.all(
        enabled.map(async (server) => {
          const records = await snapshots.load(server.name);
          if (records && catalog.tools(server.name).length === 0) {
            saved.set(server.name, records);
            catalog.setServerTools(server.name, records);
          }
        }),
      );
      await skills.load();
      if (options.serving) {
        startSandbox();
        stopWatching = await watchSkills(config.skillsDir, skills, logger);
      }
      pool.start();
    },
    settled: () => pool.settled(),
    async search({ query, limit, server, detail }) {
      await unlisted(server);
      const { hits, total } = catalog.search({ query, limit, ...(server !== undefined && { server }) });
      const results = await Promise.all(
        hits.map(async ({ entry, record, score }): Promise<SearchResultItem> => {
          const base = {
            name: entry.name,
            kind: entry.kind,
            server: entry.server,
            score: Math.round(score * 100) / 100,
          };
          if (detail === "name") return base;
          const observed = record ? await observations.get(record) : undefined;
          return {
            ...base,
            description: detail === "full" ? entry.description : clip(entry.description, SUMMARY_CHARS),
            params: paramsLine(entry.inputSchema),
            ...(detail === "full" && { inputSchema: entry.inputSchema }),
            annotations: record?.annotations ?? {},
            ...(observed && {
              returns:
                detail === "full"
                  ? renderShape(observed.shape, 2)
                  : clip(renderShape(observed.shape), SUMMARY_CHARS),
            }),
          };
        }),
      );
      const connecting = pool
        .status()
        .filter((s) => s.state === "connecting" && catalog.tools(s.name).length === 0)
        .map((s) => s.name)
        .filter((name) => server === undefined || name === server);
      return { results, total, ...(connecting.length > 0 && { connecting }) };
    },
    probe: (request, context) => prober.probe(request, context),
    offerRoots(source) {
      rootsSources.add(source);
      pool.rootsChanged();
      return () => {
        if (rootsSources.delete(source)) pool.rootsChanged();
      };
    },
    rootsChanged: () => pool.rootsChanged(),
    status: () => pool.status(),
    async close() {
      stopWatching();
      await sandbox.close();
      await pool.close();
      await Promise.all([...pending, runner.flush()]);
      await store.close();
    },
  };
}
