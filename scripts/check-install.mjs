#!/usr/bin/env node
/**
 * Checks the ways a user installs Skillsmith today, end to end, and prints a short transcript:
 *
 *   1. from a checkout: `node <checkout>/dist/cli.js doctor --config …`;
 *   2. `npm link`, into a temporary prefix (the machine's global folder is left alone);
 *   3. `npm pack`, then `npm install -g <tarball>` into another temporary prefix, and the installed
 *      `skillsmith` run in an empty folder: doctor, skills, run of a shipped example skill.
 *
 * It also checks what the tarball holds (dist, README, mcp.json, the example skills, the console's web/ files,
 * LICENSE if there is one;
 * no sources, tests or bench data; no dist file whose source is gone) and that every package dist imports at
 * run time is in `dependencies`, since a global install brings nothing else.
 *
 * Run after `npm ci` (it needs dist/ and the devDependency MCP servers): `npm run check:install`.
 * Portable: processes are started with argument arrays, never a shell string.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(await readFile(path.join(repo, "package.json"), "utf8"));
const windows = process.platform === "win32";

/**
 * npm's own JS entry, run with this node: on Windows `npm` is `npm.cmd`, which Node refuses to start without a
 * shell. npm says where it is when it runs us (npm_execpath); else it sits beside node.
 */
function npmCommand() {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), "node_modules", "npm", "bin", "npm-cli.js"),
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js"),
  ];
  const cli = candidates.find((c) => c && path.basename(c) === "npm-cli.js" && existsSync(c));
  if (!cli) throw new Error(`npm-cli.js not found (looked at ${candidates.filter(Boolean).join(", ")})`);
  return [process.execPath, cli];
}
const [npmNode, npmCli] = npmCommand();

function run(command, args, cwd, env) {
  return new Promise((resolve) => {
    const options = { cwd, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 };
    execFile(command, args, options, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const shown = (command, args) =>
  [command === process.execPath ? "node" : command, ...args]
    .map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))
    .join(" ");

/** Runs a command, prints it and the first lines of its output, and stops the check when it fails. */
async function step(title, command, args, cwd, { lines = 4, env = {} } = {}) {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v} `);
  console.log(`\n# ${title}\n$ ${vars.join("")}${shown(command, args)}   (in ${cwd})`);
  const result = await run(command, args, cwd, env);
  const output = result.stdout.trim().split("\n").filter(Boolean);
  for (const line of output.slice(0, lines)) console.log(`  ${line}`);
  if (lines > 0 && output.length > lines) console.log(`  … ${output.length - lines} more lines`);
  if (result.code !== 0) {
    throw new Error(`exit code ${result.code}\n${result.stderr.trim().split("\n").slice(-20).join("\n")}`);
  }
  return result.stdout;
}

const npm = (title, args, cwd, options) => step(title, npmNode, [npmCli, ...args], cwd, options);

function check(ok, message) {
  if (!ok) throw new Error(message);
  console.log(`  ok: ${message}`);
}

/** doctor's table must show the one server of our mcp.json ready, with its tools. */
function checkDoctor(stdout) {
  check(/^everything\s+ready\s+[1-9]\d*\s/m.test(stdout), "doctor reports everything ready, with tools");
}

/** The package names dist imports at run time: static and dynamic imports, and require() of a literal. */
async function importedPackages(distFiles) {
  const builtins = new Set(builtinModules);
  const found = new Set();
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    // A bare `import "x";` starts a statement: the same words inside a string or a comment are not one.
    /(?:^|[;}])\s*import\s*["']([^"']+)["']/gm,
    /(?:\brequire|\))\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const file of distFiles) {
    const code = await readFile(path.join(repo, file), "utf8");
    for (const pattern of patterns) {
      for (const [, specifier] of code.matchAll(pattern)) {
        if (specifier.startsWith(".") || specifier.startsWith("node:") || builtins.has(specifier)) continue;
        const parts = specifier.split("/");
        found.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
      }
    }
  }
  return [...found].sort();
}

async function checkTarball(files) {
  const paths = files.map((f) => f.path);
  const skills = (await readdir(path.join(repo, "skills"))).filter((f) => /\.(js|json)$/.test(f));
  const required = [
    "package.json",
    "README.md",
    "mcp.json",
    pkg.bin.skillsmith,
    pkg.main,
    ...skills.map((f) => `skills/${f}`),
    ...(await readdir(path.join(repo, "web"))).map((f) => `web/${f}`),
    ...(existsSync(path.join(repo, "LICENSE")) ? ["LICENSE"] : []),
  ];
  const missing = required.filter((p) => !paths.includes(p));
  check(
    missing.length === 0,
    `the tarball holds ${required.length} required files${missing.length ? `; missing: ${missing.join(", ")}` : ""}`,
  );
  const topLevel = new Set(["package.json", "README.md", "mcp.json", "LICENSE"]);
  const stray = paths.filter(
    (p) => !topLevel.has(p) && !p.startsWith("dist/") && !p.startsWith("skills/") && !p.startsWith("web/"),
  );
  check(
    stray.length === 0,
    `nothing beside dist/, skills/, web/ (the console) and the top-level files${stray.length ? `: ${stray.join(", ")}` : ""}`,
  );
  // tsc never deletes: a dist file whose source was moved or removed would still ship.
  const stale = paths.filter(
    (p) =>
      p.startsWith("dist/") &&
      p.endsWith(".js") &&
      !existsSync(path.join(repo, "src", `${p.slice(5, -3)}.ts`)),
  );
  check(
    stale.length === 0,
    `every dist/*.js has its src/*.ts${stale.length ? `; stale: ${stale.join(", ")}` : ""}`,
  );
  const imported = await importedPackages(paths.filter((p) => p.startsWith("dist/") && p.endsWith(".js")));
  const undeclared = imported.filter((name) => !(name in (pkg.dependencies ?? {})));
  check(
    undeclared.length === 0,
    `the ${imported.length} packages dist imports are all in dependencies${undeclared.length ? `; not: ${undeclared.join(", ")}` : ""}`,
  );
}

/** An mcp.json with one server, the everything server from the checkout's devDependencies, by absolute path. */
async function writeConfig(folder) {
  const require = createRequire(path.join(repo, "package.json"));
  const manifest = require.resolve("@modelcontextprotocol/server-everything/package.json");
  const { bin } = JSON.parse(await readFile(manifest, "utf8"));
  const script = path.join(path.dirname(manifest), bin["mcp-server-everything"]);
  const config = path.join(folder, "mcp.json");
  await writeFile(
    config,
    `${JSON.stringify({ mcpServers: { everything: { command: process.execPath, args: [script] } } }, null, 2)}\n`,
  );
  return config;
}

/** The installed package folder and the way to start its bin: the bin itself where it can be executed. */
function installed(prefix) {
  const folder = windows
    ? path.join(prefix, "node_modules", pkg.name)
    : path.join(prefix, "lib", "node_modules", pkg.name);
  const bin = windows ? path.join(prefix, `${pkg.name}.cmd`) : path.join(prefix, "bin", pkg.name);
  // Node will not start a .cmd without a shell, so on Windows the shim is only checked to exist.
  const start = windows ? [process.execPath, [path.join(folder, pkg.bin.skillsmith)]] : [bin, []];
  return { folder, bin, start };
}

async function checkExecutable(bin) {
  check(existsSync(bin), `the bin ${bin} exists`);
  if (windows) return;
  const mode = (await stat(bin)).mode;
  check((mode & 0o111) !== 0, `the bin's target is executable (mode ${(mode & 0o777).toString(8)})`);
}

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "skillsmith-install-"));
  try {
    console.log(
      `skillsmith ${pkg.version}: install check (node ${process.version}, ${process.platform}), in ${tmp}`,
    );
    const work = path.join(tmp, "work");
    await mkdir(work);
    const config = await writeConfig(work);

    const cli = path.join(repo, pkg.bin.skillsmith);
    checkDoctor(
      await step("1. from the checkout", process.execPath, [cli, "doctor", "--config", config], work),
    );

    const linkPrefix = path.join(tmp, "link-prefix");
    // The prefix goes by environment: on the command line, --prefix would also move the package npm links.
    await npm("2. npm link, into a temporary prefix", ["link", "--no-audit", "--no-fund"], repo, {
      lines: 2,
      env: { npm_config_prefix: linkPrefix },
    });
    const linked = installed(linkPrefix);
    await checkExecutable(linked.bin);
    checkDoctor(
      await step(
        "   the linked bin",
        linked.start[0],
        [...linked.start[1], "doctor", "--config", config],
        work,
      ),
    );

    const packed = JSON.parse(
      await npm("3. npm pack", ["pack", "--json", "--pack-destination", tmp], repo, { lines: 0 }),
    )[0];
    console.log(`  ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} kB`);
    await checkTarball(packed.files);

    const globalPrefix = path.join(tmp, "global-prefix");
    const tarball = path.join(tmp, packed.filename);
    await npm(
      "   npm install -g <tarball>, into a temporary prefix",
      ["install", "-g", tarball, "--no-audit", "--no-fund"],
      tmp,
      {
        lines: 2,
        env: { npm_config_prefix: globalPrefix },
      },
    );
    const global = installed(globalPrefix);
    await checkExecutable(global.bin);
    const [command, first] = global.start;

    // An empty folder with only an mcp.json and a copy of the shipped example skills: doctor reads ./mcp.json.
    const empty = path.join(tmp, "empty");
    await mkdir(empty);
    await writeConfig(empty);
    const version = await step("   skillsmith --version", command, [...first, "--version"], empty);
    check(version.trim() === pkg.version, `it is version ${pkg.version}`);
    checkDoctor(await step("   skillsmith doctor, in an empty folder", command, [...first, "doctor"], empty));
    await cp(path.join(global.folder, "skills"), path.join(empty, "skills"), { recursive: true });
    const listed = await step(
      "   skillsmith skills (the shipped examples)",
      command,
      [...first, "skills"],
      empty,
    );
    check(/^sum-pairs\s/m.test(listed), "the example sum-pairs is listed");
    const ran = await step(
      "   skillsmith run sum-pairs (the sandbox from the installed dependencies)",
      command,
      [...first, "run", "sum-pairs", "--input", '{"pairs": [[2, 3], [4, 5]]}'],
      empty,
      { lines: 2 },
    );
    check(/"total": 14\b/.test(ran), "the skill ran and its total is 14");
    console.log("\ninstall check passed");
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`\ninstall check FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
