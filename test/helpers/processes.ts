import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The built bin; `npm ci` builds it through `prepare`, `npm run build` rebuilds it. */
export const cliScript = path.join(repoRoot, "dist", "cli.js");

export function assertBuilt(): void {
  if (!existsSync(cliScript)) throw new Error(`${cliScript} is missing: run \`npm run build\` first`);
}

/** An mcp.json entry that runs a TypeScript fixture server through tsx, from any working directory. */
export function fixtureEntry(name: string, args: string[] = []) {
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  return {
    command: process.execPath,
    args: ["--import", tsx, path.join(repoRoot, "test", "fixtures", `${name}.ts`), ...args],
  };
}

/** A server that starts, never answers, writes its pid to `pidFile` and exits when its stdin closes. */
export function hangingServer(pidFile: string) {
  return {
    command: process.execPath,
    args: [
      "-e",
      'require("node:fs").writeFileSync(process.argv[1], String(process.pid)); process.stdin.resume(); process.stdin.on("end", () => process.exit(0));',
      pidFile,
    ],
  };
}

/** A command no PATH holds. */
export const missingCommand = { command: "skillsmith-test-no-such-command-7f3a" };

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export { isAlive } from "../../src/process-alive.js";

/** Every descendant of a process, from /proc (Linux only). */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // The command name (2nd field) may hold spaces; the parent pid is the 2nd field after its ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift();
    for (const [child, parent] of parents) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}
