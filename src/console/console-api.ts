import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { errorMessage, SkillsmithError } from "../errors.js";
import type { Gateway } from "../gateway.js";
import { readJsonBody } from "../http/json-body.js";
import type { Logger } from "../logger.js";
import { redact, redactDeep } from "../secrets.js";
import { SKILL_NAME } from "../skills/skill-store.js";
import { formatIssues } from "../tools/meta-tool.js";
import { searchToolsInput } from "../tools/search-tools.js";
import {
  diffView,
  runDetail,
  runSummary,
  serverView,
  skillDetail,
  skillSummary,
  versionView,
} from "./console-views.js";
import { SECURITY_HEADERS } from "./static-assets.js";

export interface ApiError {
  code: string;
  message: string;
  issues?: string[];
}

/** The console's API bodies are small: a search, a version number, a confirmation. */
const MAX_BODY_BYTES = 64 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(redactDeep(body)));
}

/** A refusal the handler throws; answered as `{ error: { code, message, issues? } }` with its status. */
class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: string[],
  ) {
    super(message);
  }
}

const STATUS_OF: Record<SkillsmithError["code"], number> = {
  CONFIG_INVALID: 500,
  SERVER_UNAVAILABLE: 503,
  TOOL_NOT_FOUND: 404,
  INVALID_ARGUMENTS: 400,
  CALL_FAILED: 502,
  PROBE_REFUSED: 403,
  SKILL_INVALID: 409,
};

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = formatIssues(parsed.error.issues);
  throw new ApiRefusal(400, "INVALID_ARGUMENTS", `Invalid ${where}: ${issues.join("; ")}`, issues);
}

const skillName = z.string().regex(SKILL_NAME, "must be a skill name (^[a-z][a-z0-9_-]{0,47}$)");
const version = z.coerce.number().int().min(1);
const runId = z.string().min(1).max(200);

/** search_tools' own input; the console always asks why each result ranked (where the search can say). */
const consoleSearch = searchToolsInput.extend({ explain: z.boolean().default(true) });

const schemas = {
  skillParams: z.strictObject({ name: skillName }),
  versionParams: z.strictObject({ name: skillName, version }),
  diffQuery: z.strictObject({ from: version, to: version }),
  restoreBody: z.strictObject({ version: z.int().min(1) }),
  /** The name typed again: a delete never happens by a stray click or a replayed request. */
  deleteBody: z.strictObject({ confirm: z.string() }),
  runsQuery: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
  runParams: z.strictObject({ id: runId }),
  resumeBody: z.strictObject({}),
};

interface Request {
  req: IncomingMessage;
  params: Record<string, string>;
  query: Record<string, string>;
  body(): Promise<unknown>;
}

type Handler = (request: Request) => Promise<{ status?: number; body: unknown }>;

interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** `/api/skills/:name` as a pattern whose `:key` segments are captured (decoded) into params. */
function route(method: Route["method"], path: string, handler: Handler): Route {
  const keys: string[] = [];
  const source = path.replace(/:([a-z]+)/g, (_, key: string) => {
    keys.push(key);
    return "([^/]+)";
  });
  return { method, pattern: new RegExp(`^${source}$`), keys, handler };
}

export interface ConsoleApi {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

/**
 * The console's JSON API: every handler calls the gateway's own functions (the ones behind search_tools,
 * save_skill and run_skill), validates what it is given with zod and answers errors as JSON.
 */
export function createConsoleApi(gateway: Gateway, logger: Logger): ConsoleApi {
  const skillOf = (name: string) => {
    const skill = gateway.skills.get(name);
    if (!skill) throw new ApiRefusal(404, "TOOL_NOT_FOUND", `No skill named "${name}".`);
    return skill;
  };
  const versionOf = async (name: string, number: number) => {
    const versions = await gateway.skills.versions(name);
    const found = versions.find((v) => v.version === number);
    if (!found) {
      throw new ApiRefusal(
        404,
        "NOT_FOUND",
        `Skill "${name}" has no version ${number}; it keeps ${versions.map((v) => v.version).join(", ") || "none"}.`,
      );
    }
    return found;
  };
  const runOf = async (id: string) => {
    const run = await gateway.runs.record(id);
    if (!run) throw new ApiRefusal(404, "NOT_FOUND", `No run "${id}" (runs are kept for 7 days).`);
    return run;
  };

  const routes: Route[] = [
    route("GET", "/api/servers", async () => ({ body: { servers: gateway.status().map(serverView) } })),
    route("POST", "/api/search", async ({ body }) => {
      const input = parse(consoleSearch, await body(), "search");
      return { body: await gateway.search(input) };
    }),
    route("GET", "/api/skills", async () => ({
      body: {
        skills: gateway.skills.list().map((s) => skillSummary(s, gateway.catalog, gateway.skills.get)),
      },
    })),
    route("GET", "/api/skills/:name", async ({ params }) => {
      const { name } = parse(schemas.skillParams, params, "skill name");
      const skill = skillOf(name);
      const versions = await gateway.skills.versions(name);
      return { body: skillDetail(skill, versions, gateway.catalog, gateway.skills.list()) };
    }),
    route("GET", "/api/skills/:name/versions/:version", async ({ params }) => {
      const { name, version } = parse(schemas.versionParams, params, "skill version");
      skillOf(name);
      return { body: versionView(await versionOf(name, version)) };
    }),
    route("GET", "/api/skills/:name/diff", async ({ params, query }) => {
      const { name } = parse(schemas.skillParams, params, "skill name");
      const { from, to } = parse(schemas.diffQuery, query, "diff query (from and to: version numbers)");
      skillOf(name);
      return { body: diffView(name, await versionOf(name, from), await versionOf(name, to)) };
    }),
    route("POST", "/api/skills/:name/restore", async ({ params, body }) => {
      const { name } = parse(schemas.skillParams, params, "skill name");
      const { version } = parse(schemas.restoreBody, await body(), "restore request");
      skillOf(name);
      await versionOf(name, version);
      const outcome = await gateway.skills.restore(name, version);
      return { body: { name: outcome.name, version: outcome.version, restoredFrom: version } };
    }),
    route("DELETE", "/api/skills/:name", async ({ params, body }) => {
      const { name } = parse(schemas.skillParams, params, "skill name");
      const { confirm } = parse(schemas.deleteBody, await body(), "delete request");
      if (confirm !== name) {
        throw new ApiRefusal(
          400,
          "INVALID_ARGUMENTS",
          `To delete skill "${name}", send {"confirm": "${name}"}; nothing was deleted.`,
        );
      }
      skillOf(name);
      await gateway.skills.remove(name);
      return { body: { deleted: name } };
    }),
    route("GET", "/api/runs", async ({ query }) => {
      const { limit } = parse(schemas.runsQuery, query, "runs query");
      return { body: { runs: (await gateway.runs.recent(limit)).map(runSummary) } };
    }),
    route("GET", "/api/runs/:id", async ({ params }) => {
      const { id } = parse(schemas.runParams, params, "run id");
      return { body: runDetail(await runOf(id)) };
    }),
    route("POST", "/api/runs/:id/resume", async ({ params, body }) => {
      const { id } = parse(schemas.runParams, params, "run id");
      parse(schemas.resumeBody, await body(), "resume request");
      await runOf(id);
      // The same path as run_skill {"resume": id}: the run's own code, its completed steps replayed.
      const run = await gateway.skills.run({ resume: id });
      return { status: 201, body: runDetail(run) };
    }),
  ];

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
      throw new ApiRefusal(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Send the body as JSON (content-type: application/json).",
      );
    }
    const body = await readJsonBody(req, MAX_BODY_BYTES);
    if (body.kind === "json") return body.value;
    if (body.kind === "tooLarge")
      throw new ApiRefusal(413, "TOO_LARGE", `The body is over ${MAX_BODY_BYTES} bytes.`);
    if (body.kind === "invalid")
      throw new ApiRefusal(400, "PARSE_ERROR", `The body is not JSON (${body.reason}).`);
    throw new ApiRefusal(400, "GONE", "The client went away before the body ended.");
  };

  return {
    async handle(req, res, url) {
      // A body no handler read (a refusal before it) is drained, so the connection can take the next request.
      res.once("finish", () => {
        if (!req.complete) req.resume();
      });
      try {
        const matching = routes.flatMap((r) => {
          const m = r.pattern.exec(url.pathname);
          return m ? [{ r, m }] : [];
        });
        if (matching.length === 0)
          throw new ApiRefusal(
            404,
            "NOT_FOUND",
            `No API at ${url.pathname}; the console's API is under /api/.`,
          );
        const found = matching.find(({ r }) => r.method === req.method);
        if (!found) {
          const allow = matching.map(({ r }) => r.method).join(", ");
          throw new ApiRefusal(
            405,
            "METHOD_NOT_ALLOWED",
            `${url.pathname} takes ${allow}, not ${req.method}.`,
          );
        }
        const params: Record<string, string> = Object.create(null);
        for (const [i, key] of found.r.keys.entries()) {
          try {
            params[key] = decodeURIComponent(found.m[i + 1] ?? "");
          } catch {
            throw new ApiRefusal(
              400,
              "INVALID_ARGUMENTS",
              `The path segment for ${key} is not valid URL encoding.`,
            );
          }
        }
        const query: Record<string, string> = Object.create(null);
        for (const [key, value] of url.searchParams) query[key] = value;
        const answer = await found.r.handler({ req, params, query, body: () => readBody(req) });
        sendJson(res, answer.status ?? 200, answer.body);
      } catch (error) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (error instanceof ApiRefusal) {
          const body: ApiError = {
            code: error.code,
            message: error.message,
            ...(error.issues && { issues: error.issues }),
          };
          sendJson(res, error.status, { error: body });
        } else if (error instanceof SkillsmithError) {
          sendJson(res, STATUS_OF[error.code], {
            error: { code: error.code, message: redact(error.message), ...error.data },
          });
        } else {
          logger.error(`console API ${req.method} ${url.pathname}: ${errorMessage(error)}`);
          sendJson(res, 500, {
            error: { code: "INTERNAL", message: "Internal error; the gateway's log has the details." },
          });
        }
      }
    },
  };
}
