import { SkillsmithError } from "../errors.js";
import {
  type Bridged,
  createSearchIndex,
  type HitExplanation,
  type IndexEntry,
  type IndexHit,
  type RankingOptions,
} from "./search-index.js";
import { terms } from "./tokenizer.js";
import type { ToolRecord } from "./tool-record.js";

export interface SearchHit {
  entry: IndexEntry;
  /** The downstream record, for a tool. */
  record?: ToolRecord;
  score: number;
  match: IndexHit["match"];
  /** Where the score came from, when asked (`explain`); `skillBoost` is the factor a saved skill gets. */
  explanation?: HitExplanation & { skillBoost?: number };
}

export interface SearchRequest {
  query: string;
  limit: number;
  server?: string;
  explain?: boolean;
  /** A factor on a skill's score (e.g. for skills other skills reuse), beside the saved-skill factor. */
  boost?: (skill: string) => number | undefined;
}

export interface Catalog {
  /** Replaces every tool of one server (after a listing, or from its snapshot). */
  setServerTools(server: string, records: ToolRecord[]): void;
  /**
   * Replaces the saved skills in the index; they rank with the tools. A skill's description also counts, as
   * learned words, for the tools and skills it `calls`.
   */
  setSkills(skills: Array<IndexEntry & { calls?: readonly string[] }>): void;
  get(name: string): ToolRecord | undefined;
  /** Changes whenever the tools or skills change, so derived views can be kept until then. */
  revision(): number;
  tools(server?: string): ToolRecord[];
  search(request: SearchRequest): { hits: SearchHit[]; total: number; bridged: Bridged[]; places: string[] };
  /** What a tool or skill has learned from use: analyzed terms and strengths (0..1); undefined forgets. */
  setLearned(name: string, learned: ReadonlyMap<string, number> | undefined): void;
}

export function toolEntry(record: ToolRecord): IndexEntry {
  return {
    name: record.name,
    kind: "tool",
    server: record.server,
    tool: record.tool,
    ...(record.title !== undefined && { title: record.title }),
    description: record.description,
    inputSchema: record.inputSchema,
  };
}

/** Skills live in the index under a group no server can be named (server names cannot hold spaces). */
const SKILLS_GROUP = "skills group";
/**
 * A saved skill is verified code: when it matches about as well as a tool, reusing it beats rebuilding it.
 */
const SKILL_BOOST = 1.5;
/**
 * A saved skill says what its tools are used for, in a user's words ("remember", "folder") rather than the
 * server's ("entities", "directory"): its description counts for each tool it calls as much as one credit of
 * use does in search/learning.ts (1 − e^(−1/2)), whether it was saved here or found in the skills folder.
 */
const SKILL_WORD_STRENGTH = 1 - Math.exp(-1 / 2);
/** As many words as a tool learns from use, and a bound on a skill's callees. */
const MAX_SKILL_WORDS = 32;
const MAX_CALLEES = 32;

/** The tools of every server and the saved skills, kept in one BM25 index. */
export function createCatalog(knownServers: string[] = [], ranking?: RankingOptions): Catalog {
  const index = createSearchIndex(ranking);
  const byServer = new Map<string, Map<string, ToolRecord>>(knownServers.map((s) => [s, new Map()]));
  const byName = new Map<string, ToolRecord>();
  const skills = new Map<string, IndexEntry>();
  let revision = 0;
  /** What tools learned from use, and the words of the skills that call them; the index gets both, merged. */
  const fromUse = new Map<string, ReadonlyMap<string, number>>();
  let fromSkills = new Map<string, Map<string, number>>();

  function applyLearned(name: string): void {
    const used = fromUse.get(name);
    const described = fromSkills.get(name);
    if (!described) {
      index.setLearned(name, used);
      return;
    }
    const merged = new Map(described);
    for (const [term, strength] of used ?? []) merged.set(term, Math.max(strength, merged.get(term) ?? 0));
    index.setLearned(name, merged);
  }

  return {
    setServerTools(server, records) {
      for (const old of byServer.get(server)?.keys() ?? []) byName.delete(old);
      const mine = new Map(records.map((r) => [r.name, r]));
      byServer.set(server, mine);
      for (const r of mine.values()) byName.set(r.name, r);
      index.replace(server, [...mine.values()].map(toolEntry));
      revision++;
    },
    setSkills(entries) {
      skills.clear();
      const described = new Map<string, Map<string, number>>();
      for (const { calls, ...entry } of entries) {
        skills.set(entry.name, entry);
        const words = [...new Set(terms(entry.description))].slice(0, MAX_SKILL_WORDS);
        for (const callee of new Set((calls ?? []).slice(0, MAX_CALLEES))) {
          const learned = described.get(callee) ?? new Map<string, number>();
          for (const word of words) learned.set(word, SKILL_WORD_STRENGTH);
          described.set(callee, learned);
        }
      }
      index.replace(SKILLS_GROUP, [...skills.values()]);
      const before = fromSkills;
      fromSkills = described;
      for (const name of new Set([...before.keys(), ...described.keys()])) applyLearned(name);
      revision++;
    },
    get: (name) => byName.get(name),
    setLearned(name, learned) {
      if (learned && learned.size > 0) fromUse.set(name, learned);
      else fromUse.delete(name);
      applyLearned(name);
    },
    revision: () => revision,
    tools(server) {
      if (server === undefined) return [...byName.values()];
      return [...(byServer.get(server)?.values() ?? [])];
    },
    search({ query, limit, server, explain, boost }) {
      if (
        server !== undefined &&
        !byServer.has(server) &&
        ![...skills.values()].some((s) => s.server === server)
      ) {
        const known = [...byServer.keys()];
        throw new SkillsmithError(
          "TOOL_NOT_FOUND",
          `Unknown server "${server}". Known servers: ${known.join(", ") || "none"}.`,
          { server, known },
        );
      }
      const filter =
        server === undefined
          ? undefined
          : (id: string) => (byName.get(id)?.server ?? skills.get(id)?.server) === server;
      const found = index.search(query, {
        limit,
        explain: explain === true,
        boost: (id) => (skills.has(id) ? SKILL_BOOST * (boost?.(id) ?? 1) : 1),
        ...(filter && { filter }),
      });
      const hits: SearchHit[] = [];
      for (const { id, score, match, explanation } of found.hits) {
        const record = byName.get(id);
        const skill = skills.get(id);
        const explained = explanation && {
          explanation: skill ? { ...explanation, skillBoost: SKILL_BOOST } : explanation,
        };
        if (record) hits.push({ entry: toolEntry(record), record, score, match, ...explained });
        else if (skill) hits.push({ entry: skill, score, match, ...explained });
      }
      return { hits, total: found.total, bridged: found.bridged, places: found.places };
    },
  };
}
