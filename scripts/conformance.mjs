#!/usr/bin/env node
// Runs the official MCP conformance suite's server scenarios against `skillsmith serve --http` (the build in
// dist/, so `npm run conformance` builds first) and prints one line per scenario. Exits 1 when a scenario that
// applies to a gateway fails. The suite needs Node 22, so npm fetches node@22 along with it; nothing else runs
// under Node 22.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const SUITE = "@modelcontextprotocol/conformance@0.1.16";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli.js");

// Most scenarios call fixtures that only the suite's reference server has (tools and prompts named test_*,
// resources under test://), or need a capability Skillsmith does not declare; a scenario missing here applies.
const capability = (name) => (server) =>
  server.capabilities[name] ? undefined : `Skillsmith declares no ${name} capability`;
const tool = (name) => (server) =>
  server.tools.has(name) ? undefined : `calls the suite's own test tool ${name}; a gateway has no such tool`;
const NEEDS = new Map(
  Object.entries({
    "logging-set-level": [capability("logging")],
    "completion-complete": [capability("completions")],
    "tools-call-simple-text": [tool("test_simple_text")],
    "tools-call-image": [tool("test_image_content")],
    "tools-call-audio": [tool("test_audio_content")],
    "tools-call-embedded-resource": [tool("test_embedded_resource")],
    "tools-call-mixed-content": [tool("test_multiple_content_types")],
    "tools-call-with-logging": [tool("test_tool_with_logging")],
    "tools-call-error": [tool("test_error_handling")],
    "tools-call-with-progress": [tool("test_tool_with_progress")],
    "tools-call-sampling": [tool("test_sampling")],
    "tools-call-elicitation": [tool("test_elicitation")],
    "elicitation-sep1034-defaults": [tool("test_elicitation_sep1034_defaults")],
    "elicitation-sep1330-enums": [tool("test_elicitation_sep1330_enums")],
    "json-schema-2020-12": [tool("json_schema_2020_12_tool")],
    "server-sse-polling": [tool("test_reconnection")],
  }),
);
const PREFIX_NEEDS = { "resources-": capability("resources"), "prompts-": capability("prompts") };
const needsOf = (scenario) =>
  NEEDS.get(scenario) ??
  Object.entries(PREFIX_NEEDS)
    .filter(([prefix]) => scenario.startsWith(prefix))
    .map(([, need]) => need);

/** Starts the gateway on a free loopback port; resolves with its URL once it says it is serving. */
async function startGateway(dir) {
  const config = path.join(dir, "mcp.json");
  const everything = createRequire(import.meta.url).resolve(
    "@modelcontextprotocol/server-everything/package.json",
  );
  await writeFile(
    config,
    JSON.stringify({
      mcpServers: {
        everything: {
          command: process.execPath,
          args: [path.join(path.dirname(everything), "dist", "index.js")],
        },
      },
      skillsmith: { store: "memory:", skillsDir: "skills", registryDir: "registry" },
    }),
  );
  const child = spawn(process.execPath, [cli, "serve", "--http", "--port", "0", "--config", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start in 30 s:\n${log}`)), 30_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text) => {
      log += text;
      const found = /serving .* at (http:\/\/\S+\/mcp)/.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`the gateway exited (${code}) before serving:\n${log}`)));
  });
  return { url, child };
}

async function describeServer(url) {
  const client = new Client({ name: "conformance-runner", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const { tools } = await client.listTools();
  const server = {
    capabilities: client.getServerCapabilities() ?? {},
    tools: new Set(tools.map((t) => t.name)),
  };
  await client.close();
  return server;
}

/** Runs the suite through npm (npx is a .cmd on Windows, which spawn will not start without a shell). */
function runSuite(url, outDir) {
  const npm =
    process.env.npm_execpath ??
    path.join(
      path.dirname(process.execPath),
      process.platform === "win32" ? "" : "../lib",
      "node_modules/npm/bin/npm-cli.js",
    );
  const args = [npm, "exec", "--yes", "--package=node@22", `--package=${SUITE}`, "--", "conformance"];
  const child = spawn(process.execPath, [...args, "server", "--url", url, "--suite", "all", "-o", outDir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  // Kept for when the suite produces nothing; otherwise it is npm's noise (engine warnings and the like).
  let errors = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    errors += text;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", () => resolve(errors));
  });
}

/** The checks of each scenario the suite ran, from its output folder (server-<scenario>-<timestamp>/checks.json). */
async function readResults(outDir) {
  const results = new Map();
  for (const entry of await readdir(outDir)) {
    const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(entry)?.[1];
    if (scenario)
      results.set(scenario, JSON.parse(await readFile(path.join(outDir, entry, "checks.json"), "utf8")));
  }
  return results;
}

async function main() {
  if (!existsSync(cli))
    throw new Error(`${cli} is missing: run npm run build first (npm run conformance does)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "skillsmith-conformance-"));
  const outDir = path.join(dir, "results");
  const { url, child } = await startGateway(dir);
  let failed = 0;
  try {
    const server = await describeServer(url);
    const errors = await runSuite(url, outDir);
    const results = existsSync(outDir) ? await readResults(outDir) : new Map();
    if (results.size === 0) throw new Error(`the conformance suite produced no results:\n${errors}`);
    const rows = [...results].map(([scenario, checks]) => {
      const unmet = needsOf(scenario)
        .map((need) => need(server))
        .find(Boolean);
      const failures = checks.filter((c) => c.status === "FAILURE");
      if (unmet) return [scenario, "n/a", unmet];
      const warnings = checks.filter((c) => c.status === "WARNING").length;
      const counted = (n, what) => `${n} ${what}${n === 1 ? "" : "s"}`;
      if (failures.length === 0) {
        return [
          scenario,
          "pass",
          counted(checks.length, "check") + (warnings ? `, ${counted(warnings, "warning")}` : ""),
        ];
      }
      failed += 1;
      return [
        scenario,
        "FAIL",
        failures.map((c) => `${c.name}: ${c.errorMessage ?? c.description}`).join("; "),
      ];
    });
    const width = Math.max(...rows.map(([scenario]) => scenario.length));
    console.log(`\n${SUITE} against ${url}\n`);
    for (const [scenario, result, why] of rows)
      console.log(`${scenario.padEnd(width)}  ${result.padEnd(4)}  ${why}`);
    const applicable = rows.filter(([, result]) => result !== "n/a").length;
    console.log(
      `\n${applicable - failed} of ${applicable} applicable scenarios pass; ${rows.length - applicable} n/a.`,
    );
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    if (failed === 0) await rm(dir, { recursive: true, force: true });
    else console.log(`Details: ${outDir}`);
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`conformance: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
