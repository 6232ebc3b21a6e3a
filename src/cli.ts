#!/usr/bin/env node
// Commands are imported when chosen, so `--help` and `--version` answer without loading the gateway.
import { parseArgs } from "node:util";
import type { CommandIO } from "./cli/io.js";
import type { Listen } from "./cli/serve-command.js";
import { loadConfig } from "./config.js";
import { errorMessage, SkillsmithError } from "./errors.js";
import { createLogger, type LogLevel } from "./logger.js";
import { VERSION } from "./version.js";

const HELP = `skillsmith ${VERSION} — an MCP gateway that turns tool use into procedural memory

Usage:
  skillsmith serve   [--config mcp.json]                 serve over stdio (for Claude Desktop and other MCP clients)
  skillsmith serve   --http [--port 8931] [--host 127.0.0.1]
                                                         serve over Streamable HTTP at /mcp (a token from
                                                         $SKILLSMITH_TOKEN is required off loopback)
  skillsmith search  "<query>" [--server s] [--limit n]  search the tools of every configured server
  skillsmith probe   server.tool ['{"arg": 1}'] [--allow-side-effects] [--fresh]
                                                         call one tool for real; print its answer's shape and a sample
  skillsmith skills  [--config mcp.json]                 list the saved skills
  skillsmith run     <skill> [--input '{"a": 1}'] [--resume runId]
                                                         run a saved skill, a line per step as it completes
  skillsmith doctor  [--config mcp.json]                 connect to every server and report its status

Options:
  --config, -c   path to mcp.json (default: $SKILLSMITH_CONFIG, else ./mcp.json)
  --log-level    debug | info | warn | error (default: info; logs go to stderr)
  --help, -h     show this help
  --version, -v  show the version`;

const io: CommandIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      server: { type: "string" },
      limit: { type: "string" },
      "log-level": { type: "string" },
      "allow-side-effects": { type: "boolean" },
      fresh: { type: "boolean" },
      input: { type: "string" },
      http: { type: "boolean" },
      host: { type: "string" },
      port: { type: "string" },
      resume: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.version) {
    io.out(VERSION);
    return 0;
  }
  const [command = "serve", ...rest] = positionals;
  if (values.help || command === "help") {
    io.out(HELP);
    return 0;
  }
  const level = (values["log-level"] ?? process.env.SKILLSMITH_LOG_LEVEL ?? "info") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level))
    throw usage(`--log-level must be debug, info, warn or error`);
  const logger = createLogger(level);
  // An empty SKILLSMITH_CONFIG counts as unset.
  const configPath = values.config ?? (process.env.SKILLSMITH_CONFIG || "mcp.json");

  switch (command) {
    case "serve": {
      const config = await loadConfig(configPath);
      const port = values.port === undefined ? 8931 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage("--port must be a port number");
      const token = process.env.SKILLSMITH_TOKEN;
      const listen: Listen = values.http
        ? { kind: "http", host: values.host ?? "127.0.0.1", port, ...(token && { token }) }
        : {
            kind: "stdio",
            transport: new (await import("@modelcontextprotocol/sdk/server/stdio.js")).StdioServerTransport(),
          };
      const { serveCommand } = await import("./cli/serve-command.js");
      const shutdown = await serveCommand(config, listen, logger);
      await new Promise<void>((resolve) => {
        if (listen.kind === "stdio") {
          // The client closing our stdin is the normal end of a stdio session.
          process.stdin.once("end", resolve);
          process.stdin.once("close", resolve);
        }
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await shutdown();
      return 0;
    }
    case "search": {
      const query = rest.join(" ").trim();
      if (!query) throw usage('search needs a query: skillsmith search "write text into a file"');
      const limit = values.limit === undefined ? 8 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 50)
        throw usage("--limit must be a whole number from 1 to 50");
      const config = await loadConfig(configPath);
      return (await import("./cli/search-command.js")).searchCommand(
        config,
        { query, limit, ...(values.server && { server: values.server }) },
        io,
        logger,
      );
    }
    case "probe": {
      const [tool, argumentsJson = "{}"] = rest;
      if (!tool) throw usage(`probe needs a tool: skillsmith probe everything.get-sum '{"a": 2, "b": 3}'`);
      const config = await loadConfig(configPath);
      const probeArgs = {
        tool,
        argumentsJson,
        allowSideEffects: values["allow-side-effects"] ?? false,
        fresh: values.fresh ?? false,
      };
      return (await import("./cli/probe-command.js")).probeCommand(config, probeArgs, io, logger);
    }
    case "skills":
      return (await import("./cli/skills-command.js")).skillsCommand(
        await loadConfig(configPath),
        io,
        logger,
      );
    case "run": {
      const [name] = rest;
      if (!name) throw usage(`run needs a skill name: skillsmith run my-skill --input '{"a": 1}'`);
      const config = await loadConfig(configPath);
      const runArgs = {
        name,
        inputJson: values.input ?? "{}",
        ...(values.resume && { resume: values.resume }),
      };
      return (await import("./cli/run-command.js")).runCommand(config, runArgs, io, logger);
    }
    case "doctor":
      return (await import("./cli/doctor-command.js")).doctorCommand(
        await loadConfig(configPath),
        io,
        logger,
      );
    default:
      throw usage(`unknown command "${command}"`);
  }
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
