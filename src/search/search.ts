import { deadline } from "../async.js";
import type { Catalog, SearchHit } from "../catalog/catalog.js";
import { paramsLine } from "../catalog/render.js";
import type { Pool } from "../downstream/pool.js";
import type { Observations } from "../shapes/observations.js";
import { renderShape } from "../shapes/shape.js";
import type { SkillEffects } from "../skills/annotations.js";
import { lookalikes, visibleText } from "../untrusted-text.js";
import { reuseBoost } from "./reuse.js";

export type Detail = "name" | "summary" | "full";

export interface SearchInput {
  query: string;
  limit: number;
  server?: string;
  detail: Detail;
  /** Say where each score came from (fields, server, name, learned words, related words). */
  explain?: boolean;
}

/** Where a result's score came from, as data (format.ts renders it). */
export type Explanation = NonNullable<SearchHit["explanation"]>;

export interface SearchResultItem {
  name: string;
  kind: "tool" | "skill";
  server: string;
  score: number;
  /**
   * How it matched, when not by the request's own words: "related" through related words of words no tool uses
   * (the vocabulary bridge), "learned" through words agents' requests taught it.
   */
  match?: "related" | "learned";
  explanation?: Explanation;
  /** Another tool whose name differs from this one's only by case or hidden characters. */
  lookalike?: string;
  /** The server's own words (or the skill's author's), hidden characters removed and length capped. */
  description?: string;
  params?: string;
  inputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  /** The observed shape of the tool's answers (one line at "summary", whole at "full"), once probed or called. */
  returns?: string;
  /** A skill that names some of the tools it calls at run time (so nothing vouches for what it does). */
  computedCalls?: true;
  /** The saved skills that call this skill. */
  usedBy?: string[];
}

export interface SearchOutput {
  results: SearchResultItem[];
  total: number;
  /** Words of the request that no tool uses, and the related words searched instead. */
  bridged?: Array<{ word: string; related: string[] }>;
  /** Place names the request uses: tools that take an address or place were searched for too. */
  places?: string[];
  /** Servers still connecting whose tools are not searchable yet (no snapshot of them either). */
  connecting?: string[];
}

export interface SearchOptions {
  catalog: Catalog;
  pool: Pool;
  observations: Observations;
  /** How long a search waits for servers not listed yet (first start, no snapshot). */
  waitMs: number;
  /** What a saved skill may do, derived from what it calls. */
  skillEffects(name: string): SkillEffects | undefined;
  /** The saved skills that call a skill by name. */
  usedBy(name: string): string[];
}

const SUMMARY_CHARS = 200;
/** A whole description, at "full": room for a manual page, not for a flood. */
const FULL_CHARS = 2000;
const PARAMS_CHARS = 2000;

/** search_tools' answer: the catalog's ranking, at the detail asked, with what is known of each tool's answers. */
export function createSearch(options: SearchOptions): (input: SearchInput) => Promise<SearchOutput> {
  const { catalog, pool, observations } = options;

  /** Servers making their first connection with nothing of theirs in the catalog: a search now would miss them. */
  const unlisted = (server: string | undefined) =>
    pool
      .status()
      .filter((s) => s.state === "connecting" && (server === undefined || s.name === server))
      .filter((s) => catalog.tools(s.name).length === 0)
      .map((s) => s.name);

  // Look-alike names change only with the catalog: computed once per revision, not per search.
  let looksAt = -1;
  let knownLooks = new Map<string, string>();
  const lookalikesNow = () => {
    if (looksAt !== catalog.revision()) {
      knownLooks = lookalikes(catalog.tools().map((t) => t.name));
      looksAt = catalog.revision();
    }
    return knownLooks;
  };

  async function awaitListed(server: string | undefined): Promise<void> {
    const waiting = unlisted(server);
    if (waiting.length === 0 || options.waitMs === 0) return;
    const budget = deadline(options.waitMs);
    // A server that fails or stays slow is reported as connecting in the answer, not as an error.
    await Promise.all(waiting.map((name) => pool.ready(name, budget.signal).catch(() => {})));
    budget.clear();
  }

  return async ({ query, limit, server, detail, explain }) => {
    await awaitListed(server);
    const { hits, total, bridged, places } = catalog.search({
      query,
      limit,
      ...(server !== undefined && { server }),
      ...(explain && { explain }),
      boost: (skill) => reuseBoost(options.usedBy(skill).length),
    });
    const looks = lookalikesNow();
    const results = await Promise.all(
      hits.map(async ({ entry, record, score, match, explanation }): Promise<SearchResultItem> => {
        const lookalike = looks.get(entry.name);
        const base = {
          name: entry.name,
          kind: entry.kind,
          server: entry.server,
          score: Math.round(score * 100) / 100,
          ...(match !== "lexical" && { match }),
          ...(explanation && { explanation }),
          ...(lookalike !== undefined && { lookalike }),
        };
        if (detail === "name") return base;
        const observed = record ? await observations.get(record) : undefined;
        const effects = entry.kind === "skill" ? options.skillEffects(entry.name) : undefined;
        const usedBy = entry.kind === "skill" ? options.usedBy(entry.name) : [];
        return {
          ...base,
          description: visibleText(entry.description, detail === "full" ? FULL_CHARS : SUMMARY_CHARS),
          params: visibleText(paramsLine(entry.inputSchema), PARAMS_CHARS),
          ...(detail === "full" && { inputSchema: entry.inputSchema }),
          annotations: record?.annotations ?? effects?.annotations ?? {},
          ...(effects?.computedCalls && { computedCalls: true as const }),
          ...(usedBy.length > 0 && { usedBy }),
          ...(observed && {
            returns:
              detail === "full"
                ? renderShape(observed.shape, 2)
                : visibleText(renderShape(observed.shape), SUMMARY_CHARS),
          }),
        };
      }),
    );
    const connecting = unlisted(server);
    return {
      results,
      total,
      ...(bridged.length > 0 && { bridged }),
      ...(places.length > 0 && { places }),
      ...(connecting.length > 0 && { connecting }),
    };
  };
}
