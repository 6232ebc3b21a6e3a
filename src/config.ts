import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { z } from "zod";
import { problemsError, type SkillsmithError } from "./errors.js";
import { MIN_SECRET_CHARS, rememberSecrets } from "./secrets.js";

/** A server name becomes the prefix of `server.tool`, so it may not hold a dot. */
const SERVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const stringMap = z.record(z.string(), z.string());

/** One entry of `mcpServers`, in the shape Claude Desktop uses; unknown keys of other clients are ignored. */
const serverEntrySchema = z
  .object({
    type: z.enum(["stdio", "http", "streamable-http", "streamableHttp", "sse"]).optional(),
    command: z.string().min(1, "must not be empty").optional(),
    args: z.array(z.string()).optional(),
    env: stringMap.optional(),
    cwd: z.string().optional(),
    url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    headers: stringMap.optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.command === undefined && entry.url === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["command"],
        message: 'required: give "command" (a stdio server) or "url" (an HTTP server)',
      });
    }
    if (entry.command !== undefined && entry.url !== undefined) {
      ctx.addIssue({ code: "custom", path: ["url"], message: 'give either "command" or "url", not both' });
    }
  });

const serverOptionsSchema = z.strictObject({
  probe: z.enum(["readOnly", "any", "none"]).default("readOnly"),
  /** What code (skill runs, saved or ad hoc) may call on this server. */
  skills: z.enum(["any", "readOnly", "none"]).default("any"),
  concurrency: z.int().min(1).max(256).default(8),
  timeoutMs: z.int().min(100).max(3_600_000).default(60_000),
  disabled: z.boolean().default(false),
  /** The largest message a stdio server may send; a larger answer fails its call and the connection stays up. */
  maxMessageBytes: z
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(10 * 1024 * 1024),
});

/** The most sandbox workers a gateway runs; each holds a QuickJS WebAssembly heap (~14 MB). */
const MAX_WORKERS = 64;

/**
 * One sandbox worker per core but one (the gateway's own thread needs a core for HTTP, calls and the store),
 * at least two, so one long run never makes every other run wait.
 */
export function defaultSandboxWorkers(cores = availableParallelism()): number {
  return Math.min(MAX_WORKERS, Math.max(2, cores - 1));
}

/** Limits of each skill run, and the size of the sandbox's worker pool. */
const sandboxSchema = z.strictObject({
  timeoutMs: z.int().min(100).max(3_600_000).default(60_000),
  memoryMb: z.int().min(8).max(4096).default(64),
  maxCalls: z.int().min(1).max(1_000_000).default(1000),
  maxResultBytes: z
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  /** JSON bytes of all step values of a run together (with their labels, and 400 per step): the run record keeps them. */
  maxStepBytes: z
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  /** Bytes of all log() lines of a run together, and how many it may write. */
  maxLogBytes: z
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  maxLogLines: z.int().min(1).max(1_000_000).default(10_000),
  /** JSON bytes of one call's arguments, and of one answer handed to a run. */
  maxCallBytes: z
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  workers: z
    .int("must be a whole number of workers")
    .min(1, "must be at least 1")
    .max(MAX_WORKERS, `must be at most ${MAX_WORKERS}`)
    .default(() => defaultSandboxWorkers()),
  /** How deep saved skills may call saved skills within one run (a skill the run calls is 1 deep). */
  maxDepth: z.int().min(1).max(64).default(8),
});

/** Streamable HTTP serving (`serve --http`): request size and the life of client sessions. */
const httpSchema = z.strictObject({
  maxBodyBytes: z
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  sessionIdleMs: z
    .int()
    .min(1000)
    .max(7 * 24 * 3600 * 1000)
    .default(30 * 60_000),
  maxSessions: z.int().min(1).max(100_000).default(1000),
  /**
   * Keep each session's recent events so a broken event stream resumes (Last-Event-ID). It makes every answer open
   * with a priming event, a write of its own: about 1 ms a request on loopback; false trades resumption for that.
   */
  resumable: z.boolean().default(true),
  /**
   * `local`: sessions live in this process (one instance, or a balancer with session affinity); `shared`: in the
   * store too, so any instance serves any session (default with a redis:// store); `stateless`: no sessions.
   */
  sessions: z.enum(["local", "shared", "stateless"]).optional(),
  /** /healthz, /readyz and /metrics answer without the bearer token from anywhere (default: only from loopback). */
  opsWithoutToken: z.boolean().default(false),
});

const skillsmithSchema = z.strictObject({
  skillsDir: z.string().min(1).default("skills"),
  registryDir: z.string().min(1).default("registry"),
  store: z
    .string()
    .regex(/^(file:|redis:\/\/|rediss:\/\/|memory:)/, 'must start with "file:", "redis://" or "memory:"')
    .default("file:.skillsmith/state"),
  servers: z.record(z.string(), serverOptionsSchema).default({}),
  sandbox: sandboxSchema.default(() => sandboxSchema.parse({})),
  /** How long a call waits for its server's first connection (or a reconnect) before failing; never past the call's own timeout. */
  startupWaitMs: z.int().min(0).max(3_600_000).default(20_000),
  /** How long search_tools waits, on a first start, for servers with neither a snapshot nor a finished listing. */
  searchWaitMs: z.int().min(0).max(3_600_000).default(5_000),
  http: httpSchema.default(httpSchema.parse({})),
  /** On SIGTERM or stdin closing, how long requests in flight get to finish before they are answered with an error. */
  shutdownGraceMs: z.int().min(0).max(600_000).default(5_000),
  /** Learn from use: the words of a search are credited to the tools a session then probes, runs or saves. */
  learn: z.boolean().default(true),
});

const configFileSchema = z.object({
  mcpServers: z.record(
    z.string().regex(SERVER_NAME, "server names use letters, digits, '_' and '-' (no dots)"),
    serverEntrySchema,
  ),
  skillsmith: skillsmithSchema.default(skillsmithSchema.parse({})),
});

export type ServerOptions = z.infer<typeof serverOptionsSchema>;
export type SandboxOptions = z.infer<typeof sandboxSchema>;
export type HttpServingOptions = Omit<z.infer<typeof httpSchema>, "sessions"> & {
  sessions: "local" | "shared" | "stateless";
};

export type StdioServerConfig = {
  kind: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
};
export type HttpServerConfig = {
  kind: "http";
  url: string;
  headers: Record<string, string>;
  /** "sse" only for old servers that still speak the deprecated HTTP+SSE transport. */
  transport: "streamable" | "sse";
};

export type ServerConfig = (StdioServerConfig | HttpServerConfig) & { name: string; options: ServerOptions };

export interface Config {
  /** Absolute path of the config file, or "<inline>" when built in memory. */
  file: string;
  servers: ServerConfig[];
  skillsDir: string;
  registryDir: string;
  /** `file:<absolute path>`, `redis://…` or `memory:`. */
  store: string;
  sandbox: SandboxOptions;
  startupWaitMs: number;
  searchWaitMs: number;
  /** Values that `${VAR}` brought in from the environment (of MIN_SECRET_CHARS or more): redacted in every output. */
  secrets: string[];
  http: HttpServingOptions;
  shutdownGraceMs: number;
  learn: boolean;
}

const defaultServerOptions = serverOptionsSchema.parse({});

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string; a missing variable is an error naming where.
 * Values taken from the environment go into `secrets` (a default is written in the file: no secret).
 */
function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  at: string[],
  missing: string[],
  secrets: Set<string>,
): unknown {
  if (typeof value === "string") {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_, name: string, fallback?: string) => {
        const fromEnv = env[name];
        if (fromEnv !== undefined && fromEnv.length >= MIN_SECRET_CHARS) secrets.add(fromEnv);
        const found = fromEnv ?? fallback;
        if (found === undefined) {
          missing.push(
            `${at.join(".")}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
          );
          return "";
        }
        return found;
      },
    );
  }
  if (Array.isArray(value))
    return value.map((v, i) => expandEnv(v, env, [...at, String(i)], missing, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...at, k], missing, secrets)]),
    );
  }
  return value;
}

function invalid(file: string, problems: string[]): SkillsmithError {
  return problemsError("CONFIG_INVALID", `Invalid config ${file}`, problems, { path: file });
}

/** Validates an already-parsed mcp.json object; relative paths resolve from `baseDir`. */
export function parseConfig(
  raw: unknown,
  { file = "<inline>", baseDir = process.cwd(), env = process.env } = {},
): Config {
  const missing: string[] = [];
  const secrets = new Set<string>();
  const expanded = expandEnv(raw, env, [], missing, secrets);
  // Before any check: an error about the config may quote a value.
  rememberSecrets(secrets);
  if (missing.length > 0) throw invalid(file, missing);

  const parsed = configFileSchema.safeParse(expanded);
  if (!parsed.success) {
    throw invalid(
      file,
      parsed.error.issues.map((issue) => {
        // A bad record key (a server name) carries its reason in nested issues, under a generic message.
        const message =
          issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") : issue.message;
        return `${issue.path.map(String).join(".") || "(root)"}: ${message}`;
      }),
    );
  }
  const { mcpServers, skillsmith } = parsed.data;
  const unknown = Object.keys(skillsmith.servers).filter((name) => !(name in mcpServers));
  if (unknown.length > 0) {
    throw invalid(
      file,
      unknown.map(
        (name) =>
          `skillsmith.servers.${name}: no server "${name}" in mcpServers (known: ${Object.keys(mcpServers).join(", ") || "none"})`,
      ),
    );
  }

  const sharedStore = /^rediss?:\/\//.test(skillsmith.store);
  if (skillsmith.http.sessions === "shared" && !sharedStore) {
    throw invalid(file, [
      `skillsmith.http.sessions: "shared" keeps sessions in a store every instance reaches: set skillsmith.store to redis://host:port, or use "local" (one instance, or a balancer with affinity) or "stateless"`,
    ]);
  }

  const resolve = (p: string) => path.resolve(baseDir, p);
  const servers = Object.entries(mcpServers).map(([name, entry]): ServerConfig => {
    const options = skillsmith.servers[name] ?? defaultServerOptions;
    if (entry.url !== undefined) {
      const transport = entry.type === "sse" ? "sse" : "streamable";
      return { name, options, kind: "http", url: entry.url, headers: entry.headers ?? {}, transport };
    }
    return {
      name,
      options,
      kind: "stdio",
      command: entry.command ?? "",
      args: entry.args ?? [],
      env: entry.env ?? {},
      cwd: resolve(entry.cwd ?? "."),
    };
  });
  const store = skillsmith.store.startsWith("file:")
    ? `file:${resolve(skillsmith.store.slice("file:".length))}`
    : skillsmith.store;
  return {
    file,
    servers,
    skillsDir: resolve(skillsmith.skillsDir),
    registryDir: resolve(skillsmith.registryDir),
    store,
    sandbox: skillsmith.sandbox,
    startupWaitMs: skillsmith.startupWaitMs,
    searchWaitMs: skillsmith.searchWaitMs,
    secrets: [...secrets],
    http: {
      ...skillsmith.http,
      sessions: skillsmith.http.sessions ?? (sharedStore ? "shared" : "local"),
    },
    shutdownGraceMs: skillsmith.shutdownGraceMs,
    learn: skillsmith.learn,
  };
}

/** Reads and validates mcp.json; every failure is a CONFIG_INVALID error that names the file and the JSON path. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw invalid(absolute, [`${reason} (pass --config <path to mcp.json>)`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(absolute, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseConfig(raw, { file: absolute, baseDir: path.dirname(absolute), env });
}
