import { readdir } from "node:fs/promises";
import { createToolCalls } from "./calls/tool-calls.js";
import { type Catalog, createCatalog } from "./catalog/catalog.js";
import { DEFAULT_RANKING } from "./catalog/search-index.js";
import { createSnapshots } from "./catalog/snapshots.js";
import { toToolRecord } from "./catalog/tool-record.js";
import { createClientRoots, type RootsSource } from "./client-roots.js";
import type { Config } from "./config.js";
import type { ServerStatus } from "./downstream/connection.js";
import { createPool, type Pool, type PoolOptions } from "./downstream/pool.js";
import { type Logger, silentLogger } from "./logger.js";
import { META_TOOL_NAMES } from "./meta-tool-names.js";
import { createMetrics, type Metrics } from "./ops/metrics.js";
import { createProber, type ProbeContext, type ProbeRequest, type ProbeResult } from "./probe/prober.js";
import { createLearning, type Use } from "./search/learning.js";
import { createSearch, type SearchInput, type SearchOutput } from "./search/search.js";
import { createObservations } from "./shapes/observations.js";
import { skillEffects } from "./skills/annotations.js";
import { createSkillRunner, type SkillRunner } from "./skills/runner.js";
import { createSandbox } from "./skills/sandbox/sandbox.js";
import { openSkillStore } from "./skills/skill-transfer.js";
import { createSkills, type Skills } from "./skills/skills.js";
import { watchSkills } from "./skills/skills-watcher.js";
import { SKILLS_CHANNEL } from "./skills/stored-skill-store.js";
import { createStateStore, type StateStore } from "./store/state-store.js";
import { VERSION } from "./version.js";

export type { RootsSource } from "./client-roots.js";
export type { Detail, Explanation, SearchInput, SearchOutput, SearchResultItem } from "./search/search.js";

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
  /** Prometheus metrics, reported to by the call, search, probe and run paths. */
  readonly metrics: Metrics;
  /** Loads snapshots (so search answers at once), then starts connecting every server in the background. */
  start(): Promise<void>;
  /** Resolves when every server has connected or failed once. */
  settled(): Promise<void>;
  /**
   * On a first start, waits (up to `searchWaitMs`) for servers that have neither a snapshot nor a listing yet.
   * With a `session`, the search is remembered for learning from the uses that follow it.
   */
  search(input: SearchInput, session?: string): Promise<SearchOutput>;
  /** A successful probe in a session is a use of the tool (learning). */
  probe(request: ProbeRequest, context?: ProbeContext & { session?: string }): Promise<ProbeResult>;
  /**
   * Tools used in a session (called by a run, called by a saved skill): its recent searches' words are credited
   * to them (unless `skillsmith.learn` is false). Never rejects.
   */
  used(session: string | undefined, use: Use): Promise<void>;
  /**
   * A client in front of the gateway offers its roots to the downstream servers (the union of every client's
   * roots is what a server gets on roots/list). Returns the way to withdraw them, when that client goes.
   */
  offerRoots(source: RootsSource): () => void;
  /** A client said its roots changed: the servers are told, and ask again. */
  rootsChanged(): void;
  status(): ServerStatus[];
  /** The state store (its `url` shown without a password): shared HTTP sessions live in it too, and readiness asks it for a round trip. */
  readonly store: StateStore;
  close(): Promise<void>;
}

/** Wires the parts together: the one place that knows all of them. */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const enabled = config.servers.filter((s) => !s.options.disabled).map((s) => s.name);
  // `learn: false` ignores what was learned, and what saved skills say of the tools they call.
  const catalog = createCatalog(enabled, config.learn ? undefined : { ...DEFAULT_RANKING, learned: 0 });
  const snapshots = createSnapshots(config.registryDir, catalog, logger);
  const metrics = createMetrics(
    { sandbox: () => sandbox.stats() },
    { processMetrics: options.serving ?? false },
  );
  const { observer } = metrics;
  const store = createStateStore(config.store, logger, { onFailure: (ns) => observer.storeError(ns) });
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
  const calls = createToolCalls({ catalog, pool, observations, logger, observer });
  const serverOptions = (server: string) => {
    const found = optionsOf.get(server);
    if (!found) throw new Error(`no options for server "${server}"`);
    return found;
  };
  // On a store other hosts share, skills live in it; otherwise in the folder (the human-readable copy).
  const skillStore = openSkillStore(config.skillsDir, store, logger);
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
    reloadOnMiss: store.shared,
    observer,
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
  const learning = config.learn ? createLearning({ store, catalog, logger }) : undefined;
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

  const reload = () =>
    void skills
      .load()
      .catch((error: unknown) => logger.warn(`could not reload the skills: ${String(error)}`));
  let stopWatching = () => {};
  return {
    catalog,
    pool,
    skills,
    runs: runner,
    metrics,
    async start() {
      await snapshots.restore(enabled);
      await skills.load();
      await learning?.start();
      if (options.serving) {
        if (store.shared) await mentionFolderSkills(config.skillsDir, logger);
        sandbox.warm();
        // A save on any instance is announced on the store's channel; a save in a shared folder shows in it.
        stopWatching = store.shared
          ? store.subscribe(SKILLS_CHANNEL, reload, reload)
          : await watchSkills(config.skillsDir, skills, logger);
      }
      pool.start();
    },
    settled: () => pool.settled(),
    async search(input, session) {
      if (session !== undefined) learning?.searched(session, input.query);
      const started = performance.now();
      const found = await search(input);
      observer.search(performance.now() - started);
      return found;
    },
    async probe(request, context) {
      const started = performance.now();
      let result: ProbeResult;
      try {
        result = await prober.probe(request, context);
        observer.probe("ok", performance.now() - started);
      } catch (error) {
        observer.probe("failed", performance.now() - started);
        throw error;
      }
      if (result.ok && context?.session !== undefined)
        await learning?.used(context.session, { tools: [result.tool] });
      return result;
    },
    async used(session, use) {
      if (session !== undefined) await learning?.used(session, use);
    },
    offerRoots: (source) => roots.offer(source),
    rootsChanged: () => pool.rootsChanged(),
    status: () => pool.status(),
    store,
    async close() {
      stopWatching();
      learning?.close();
      await sandbox.close();
      await pool.close();
      await Promise.all([snapshots.flush(), runner.flush(), prober.flush()]);
      await store.close();
    },
  };
}

/** With a shared store the folder is not read: say so once when it holds skills, and how to bring them in. */
async function mentionFolderSkills(dir: string, logger: Logger): Promise<void> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const count = files.filter((f) => f.endsWith(".json") && !f.startsWith(".")).length;
  if (count === 0) return;
  logger.info(
    `${count} skill(s) in ${dir} are not served: with a redis:// store, skills live in the store. ` +
      `Copy them in with: skillsmith skills import ${dir}`,
  );
}
