import { createToolCalls } from "./calls/tool-calls.js";
import { type Catalog, createCatalog } from "./catalog/catalog.js";
import { createSnapshots } from "./catalog/snapshots.js";
import { toToolRecord } from "./catalog/tool-record.js";
import { createClientRoots, type RootsSource } from "./client-roots.js";
import type { Config } from "./config.js";
import type { ServerStatus } from "./downstream/connection.js";
import { createPool, type Pool, type PoolOptions } from "./downstream/pool.js";
import { type Logger, silentLogger } from "./logger.js";
import { META_TOOL_NAMES } from "./meta-tool-names.js";
import { createProber, type ProbeContext, type ProbeRequest, type ProbeResult } from "./probe/prober.js";
import { createSearch, type SearchInput, type SearchOutput } from "./search/search.js";
import { createObservations } from "./shapes/observations.js";
import { skillEffects } from "./skills/annotations.js";
import { createSkillRunner, type SkillRunner } from "./skills/runner.js";
import { createSandbox } from "./skills/sandbox/sandbox.js";
import { createSkillStore } from "./skills/skill-store.js";
import { createSkills, type Skills } from "./skills/skills.js";
import { watchSkills } from "./skills/skills-watcher.js";
import { createStateStore } from "./store/state-store.js";
import { VERSION } from "./version.js";

export type { RootsSource } from "./client-roots.js";
export type { Detail, SearchInput, SearchOutput, SearchResultItem } from "./search/search.js";

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
  readonly catalog: Catalog;
  readonly pool: Pool;
  readonly skills: Skills;
  /** Run records: one by id, or the most recent (for the console). */
  readonly runs: Pick<SkillRunner, "record" | "recent">;
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

/** Wires the parts together: the one place that knows all of them. */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const enabled = config.servers.filter((s) => !s.options.disabled).map((s) => s.name);
  const catalog = createCatalog(enabled);
  const snapshots = createSnapshots(config.registryDir, catalog, logger);
  const store = createStateStore(config.store, logger);
  const observations = createObservations(store, logger);
  const optionsOf = new Map(config.servers.map((s) => [s.name, s.options]));
  const roots = createClientRoots(logger, () => pool.rootsChanged());

  const pool = createPool({
    servers: config.servers,
    logger,
    version: VERSION,
    onTools: (server, tools) =>
      snapshots.record(
        server,
        tools.map((t) => toToolRecord(server, t)),
      ),
    startupWaitMs: config.startupWaitMs,
    roots: () => roots.list(),
    ...(options.connection && { connection: options.connection }),
  });

  const sandbox = createSandbox({ workers: config.sandbox.workers, logger });
  const calls = createToolCalls({ catalog, pool, observations, logger });
  const serverOptions = (server: string) => {
    const found = optionsOf.get(server);
    if (!found) throw new Error(`no options for server "${server}"`);
    return found;
  };
  const skillStore = createSkillStore(config.skillsDir, logger, store);
  const runner = createSkillRunner({
    sandbox,
    store,
    catalog,
    calls,
    limits: config.sandbox,
    logger,
    serverOptions,
    skills: skillStore,
  });
  const skills = createSkills({
    store: skillStore,
    sandbox,
    runner,
    catalog,
    calls,
    reserved: META_TOOL_NAMES,
  });
  const prober = createProber({
    calls,
    store,
    logger,
    serverOptions,
  });
  const search = createSearch({
    catalog,
    pool,
    observations,
    waitMs: config.searchWaitMs,
    skillEffects: (name) => {
      const skill = skills.get(name);
      return skill && skillEffects(skill, catalog, skills.get);
    },
    usedBy: (name) => skills.usedBy(name),
  });

  let stopWatching = () => {};
  return {
    catalog,
    pool,
    skills,
    runs: runner,
    async start() {
      await snapshots.restore(enabled);
      await skills.load();
      if (options.serving) {
        sandbox.warm();
        stopWatching = await watchSkills(config.skillsDir, skills, logger);
      }
      pool.start();
    },
    settled: () => pool.settled(),
    search,
    probe: (request, context) => prober.probe(request, context),
    offerRoots: (source) => roots.offer(source),
    rootsChanged: () => pool.rootsChanged(),
    status: () => pool.status(),
    async close() {
      stopWatching();
      await sandbox.close();
      await pool.close();
      await Promise.all([snapshots.flush(), runner.flush()]);
      await store.close();
    },
  };
}
