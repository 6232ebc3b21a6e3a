#!/usr/bin/env node
// Commands are imported when chosen, so `--help` and `--version` answer without loading the gateway.
import { parseArgs } from "node:util";
import type { CommandIO } from "./cli/io.js";
import type { Listen } from "./cli/serve-command.js";
import { type Config, loadConfig } from "./config.js";
import { errorMessage, SkillsmithError } from "./errors.js";
import type { HttpOptions } from "./http-server.js";
import { createLogger, type Logger, type LogLevel } from "./logger.js";
import { VERSION } from "./version.js";

const HELP = `skillsmith ${VERSION} — an MCP gateway that turns tool use into procedural memory

Usage:
  skillsmith serve   [--config mcp.json]                 serve over stdio (for Claude Desktop and other MCP clients)
  skillsmith serve   --http [--port 8931] [--host 127.0.0.1]
                                                         serve over Streamable HTTP at /mcp, and the web console
                                                         at / (a token from $SKILLSMITH_TOKEN is required off
                                                         loopback)
  skillsmith console [--port 8931] [--host 127.0.0.1]     serve the web console alone (servers, search, skills,
                                                         runs) over the same mcp.json, skills and store
  skillsmith search  "<query>" [--server s] [--limit n] [--explain]
                                                         search the tools of every configured server; --explain
                                                         shows where each score came from
  skillsmith probe   server.tool ['{"arg": 1}'] [--allow-side-effects] [--fresh]
                                                         call one tool for real; print its answer's shape and a sample
  skillsmith skills  [--config mcp.json]                 list the saved skills
  skillsmith skills  export <dir> | import <dir>         copy every skill, every version, from the store
                                                         (redis://… or the skills folder) to a folder, or back
  skillsmith run     <skill> | --code file.js [--input '{"a": 1}'] [--resume runId]
                                                         run a saved skill, or code ad hoc, a line per step
  skillsmith save    <name> --from-run <runId> --description "…" [--overwrite]
                                                         save the code of a run that succeeded as a skill
  skillsmith doctor  [--config mcp.json]                 connect to every server and report its status

Options:
  --config, -c   path to mcp.json (default: $SKILLSMITH_CONFIG, else ./mcp.json)
  --log-level    debug | info | warn | error (default: info; logs go to stderr)
  --log-format   text | json (default: text; json: one object a line, for log collectors)
  --help, -h     show this help
  --version, -v  show the version`;

const io: CommandIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const OPTIONS = {
  config: { type: "string", short: "c" },
  server: { type: "string" },
  limit: { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "allow-side-effects": { type: "boolean" },
  fresh: { type: "boolean" },
  input: { type: "string" },
  code: { type: "string" },
  "from-run": { type: "string" },
  description: { type: "string" },
  overwrite: { type: "boolean" },
  explain: { type: "boolean" },
  http: { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** What every command gets: its own words after the command's name, the options, and the config on demand. */
interface Invocation {
  rest: string[];
  values: Values;
  logger: Logger;
  config(): Promise<Config>;
}

/** Waits for the end of a served session: the client closing our stdin (stdio), or a signal. */
function untilStopped(stdio: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stdio) {
      process.stdin.once("end", resolve);
      process.stdin.once("close", resolve);
    }
    // `on`, not `once`: write-file-atomic's signal-exit re-raises a signal it finds no other listener for, which
    // killed the gateway mid-shutdown when a once-listener had already removed itself.
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
}

/**
 * The last resort of a long-lived server: a fault that escaped every handler is logged, loudly, and the gateway
 * keeps serving its other sessions and children rather than ending them all.
 */
function keepServing(logger: Logger): void {
  const describe = (fault: unknown) =>
    fault instanceof Error ? (fault.stack ?? fault.message) : String(fault);
  process.on("uncaughtException", (error) =>
    logger.error(`uncaught exception, kept serving (please report it): ${describe(error)}`),
  );
  process.on("unhandledRejection", (reason) =>
    logger.error(`unhandled promise rejection, kept serving (please report it): ${describe(reason)}`),
  );
}

/** Where `serve --http` and `console` listen: --host, --port, and the token from the environment. */
function httpOptions(values: Values): HttpOptions {
  const port = values.port === undefined ? 8931 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage("--port must be a port number");
  const token = process.env.SKILLSMITH_TOKEN;
  return { host: values.host ?? "127.0.0.1", port, ...(token && { token }) };
}

/** One entry per command: it checks its own arguments, then loads only the module it needs. */
const COMMANDS = new Map<string, (run: Invocation) => Promise<number>>([
  [
    "serve",
    async ({ values, logger, config }) => {
      const listen: Listen = values.http
        ? { kind: "http", ...httpOptions(values) }
        : {
            kind: "stdio",
            transport: new (await import("@modelcontextprotocol/sdk/server/stdio.js")).StdioServerTransport(),
          };
      keepServing(logger);
      // Listening from the start: a signal during startup shuts the gateway down once it is up.
      const stopped = untilStopped(listen.kind === "stdio");
      const { serveCommand } = await import("./cli/serve-command.js");
      const shutdown = await serveCommand(await config(), listen, logger);
      await stopped;
      await shutdown();
      return 0;
    },
  ],
  [
    "console",
    async ({ values, logger, config }) => {
      const listen = httpOptions(values);
      keepServing(logger);
      const stopped = untilStopped(false);
      const { consoleCommand } = await import("./cli/console-command.js");
      const shutdown = await consoleCommand(await config(), listen, logger);
      await stopped;
      await shutdown();
      return 0;
    },
  ],
  [
    "search",
    async ({ rest, values, logger, config }) => {
      const query = rest.join(" ").trim();
      if (!query) throw usage('search needs a query: skillsmith search "write text into a file"');
      const limit = values.limit === undefined ? 8 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 50)
        throw usage("--limit must be a whole number from 1 to 50");
      const search = {
        query,
        limit,
        ...(values.server && { server: values.server }),
        ...(values.explain && { explain: true }),
      };
      return (await import("./cli/search-command.js")).searchCommand(await config(), search, io, logger);
    },
  ],
  [
    "probe",
    async ({ rest, values, logger, config }) => {
      const [tool, argumentsJson = "{}"] = rest;
      if (!tool) throw usage(`probe needs a tool: skillsmith probe everything.get-sum '{"a": 2, "b": 3}'`);
      const probe = {
        tool,
        argumentsJson,
        allowSideEffects: values["allow-side-effects"] ?? false,
        fresh: values.fresh ?? false,
      };
      return (await import("./cli/probe-command.js")).probeCommand(await config(), probe, io, logger);
    },
  ],
  [
    "skills",
    async ({ rest, logger, config }) => {
      const [action, dir, ...extra] = rest;
      if (action === undefined)
        return (await import("./cli/skills-command.js")).skillsCommand(await config(), io, logger);
      if ((action !== "export" && action !== "import") || dir === undefined || extra.length > 0)
        throw usage("skills takes no arguments, or export <dir> or import <dir>");
      const { skillsTransferCommand } = await import("./cli/skills-transfer-command.js");
      return skillsTransferCommand(await config(), action, dir, io, logger);
    },
  ],
  [
    "run",
    async ({ rest, values, logger, config }) => {
      const [name] = rest;
      if ((name === undefined) === (values.code === undefined) && values.resume === undefined)
        throw usage(`run needs a skill name or --code file.js: skillsmith run my-skill --input '{"a": 1}'`);
      const run = {
        inputJson: values.input ?? "{}",
        ...(name !== undefined && { name }),
        ...(values.code !== undefined && { codeFile: values.code }),
        ...(values.resume && { resume: values.resume }),
      };
      return (await import("./cli/run-command.js")).runCommand(await config(), run, io, logger);
    },
  ],
  [
    "save",
    async ({ rest, values, logger, config }) => {
      const [name] = rest;
      const fromRun = values["from-run"];
      if (!name || fromRun === undefined || !values.description)
        throw usage('save needs a name, --from-run <runId> and --description "what it does"');
      const save = { name, fromRun, description: values.description, overwrite: values.overwrite ?? false };
      return (await import("./cli/save-command.js")).saveCommand(await config(), save, io, logger);
    },
  ],
  [
    "doctor",
    async ({ logger, config }) =>
      (await import("./cli/doctor-command.js")).doctorCommand(await config(), io, logger),
  ],
]);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  if (values.version) {
    io.out(VERSION);
    return 0;
  }
  const [command = "serve", ...rest] = positionals;
  if (values.help || command === "help") {
    io.out(HELP);
    return 0;
  }
  const run = COMMANDS.get(command);
  if (!run) throw usage(`unknown command "${command}"`);
  const level = (values["log-level"] ?? process.env.SKILLSMITH_LOG_LEVEL ?? "info") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level))
    throw usage(`--log-level must be debug, info, warn or error`);
  const format = values["log-format"] ?? process.env.SKILLSMITH_LOG_FORMAT ?? "text";
  if (format !== "text" && format !== "json") throw usage("--log-format must be text or json");
  // An empty SKILLSMITH_CONFIG counts as unset.
  const configPath = values.config ?? (process.env.SKILLSMITH_CONFIG || "mcp.json");
  return run({
    rest,
    values,
    logger: createLogger(level, undefined, format),
    config: () => loadConfig(configPath),
  });
}

class UsageError extends Error {}
const usage = (message: string) => new UsageError(`${message}\nRun skillsmith --help for usage.`);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof SkillsmithError) {
      io.err(`skillsmith: ${error.code}: ${error.message}`);
      process.exit(error.code === "CONFIG_INVALID" ? 2 : 1);
    }
    io.err(`skillsmith: ${errorMessage(error)}`);
    process.exit(
      error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1,
    );
  },
);
