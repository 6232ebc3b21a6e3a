/**
 * The processes a load run drives, each on a free loopback port and stopped afterwards: the `everything` server
 * over HTTP, gateway instances (`serve --http`), and for the two-instance rows redis-server and nginx with
 * throwaway configs. Nothing listens beyond 127.0.0.1.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);

export interface Service {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.once("error", reject);
  });
}

/** Ends a child with SIGTERM (SIGKILL after 5 s) and waits for it. */
function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(kill);
  };
}

/** Starts a child and waits until `ready` finds what it needs in its output (stdout and stderr), or it exits. */
async function startChild(
  command: string,
  args: string[],
  ready: (line: string) => string | undefined,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; found: string; stop: () => Promise<void> }> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = stopper(child);
  let tail = "";
  try {
    const found = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${path.basename(command)} was not ready in time: ${tail}`)),
        options.timeoutMs ?? 30_000,
      );
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream }).on("line", (line) => {
          tail = `${tail}\n${line}`.slice(-2000);
          const value = ready(line);
          if (value !== undefined) {
            clearTimeout(timer);
            resolve(value);
          }
        });
      }
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${path.basename(command)} exited (${code}) before it was ready: ${tail}`));
      });
    });
    // Keep draining its output so a chatty child never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return { child, found, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The `everything` reference server over Streamable HTTP (see everything-http-server.ts). */
export async function startEverythingHttp(root: string): Promise<Service> {
  const script = path.join(root, "bench/load/everything-http-server.ts");
  const { child, found, stop } = await startChild(
    process.execPath,
    ["--import", pathToFileURL(require.resolve("tsx")).href, script],
    (line) => (line.startsWith('{"url"') ? (JSON.parse(line) as { url: string }).url : undefined),
    { cwd: root },
  );
  return { url: found, pid: child.pid, stop };
}

/** The built gateway serving `configFile` over HTTP on a free loopback port; `nodeArgs` e.g. ["--cpu-prof"]. */
export async function startGatewayHttp(
  root: string,
  configFile: string,
  nodeArgs: string[] = [],
): Promise<Service> {
  const port = await freePort();
  const { child, stop } = await startChild(
    process.execPath,
    [
      ...nodeArgs,
      path.join(root, "dist/cli.js"),
      "serve",
      "--http",
      "--port",
      String(port),
      "--config",
      configFile,
    ],
    (line) => (line.includes(`127.0.0.1:${port}/mcp`) ? line : undefined),
    { cwd: path.dirname(configFile), env: { ...process.env, SKILLSMITH_LOG_LEVEL: "info" } },
  );
  return { url: `http://127.0.0.1:${port}/mcp`, pid: child.pid, stop };
}

export const hasBinary = (file: string, versionArg: string) =>
  spawnSync(file, [versionArg], { stdio: "ignore" }).status === 0;

export const REDIS_SERVER = "redis-server";
export const NGINX = "/usr/sbin/nginx";

/** A throwaway redis-server on a free loopback port that persists nothing. */
export async function startRedis(): Promise<Service> {
  const port = await freePort();
  const { child, stop } = await startChild(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    (line) => (line.includes("Ready to accept connections") ? line : undefined),
  );
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

/**
 * nginx in the foreground, round-robin over `upstreams` (no session affinity), with a config and prefix of its
 * own under `dir`: keep-alive to the instances, no buffering (SSE answers stream through), long read timeouts.
 */
export async function startNginx(dir: string, upstreams: string[]): Promise<Service> {
  const port = await freePort();
  const hosts = upstreams.map((u) => new URL(u).host);
  const conf = path.join(dir, "nginx.conf");
  await writeFile(
    conf,
    `daemon off;
worker_processes 1;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "nginx-error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${path.join(dir, "body")};
  proxy_temp_path ${path.join(dir, "proxy")};
  fastcgi_temp_path ${path.join(dir, "fastcgi")};
  uwsgi_temp_path ${path.join(dir, "uwsgi")};
  scgi_temp_path ${path.join(dir, "scgi")};
  upstream skillsmith { ${hosts.map((h) => `server ${h};`).join(" ")} keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://skillsmith;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ["-p", dir, "-c", conf, "-e", path.join(dir, "nginx-error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stop = stopper(child);
  // nginx says nothing when it is up: wait until its port answers.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(path.join(dir, "nginx-error.log"), "utf8").catch(() => "");
      throw new Error(`nginx exited (${child.exitCode}): ${log.slice(-1000)}`);
    }
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("nginx did not answer within 10 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: `http://127.0.0.1:${port}/mcp`, pid: child.pid, stop };
}

export interface ProcessStats {
  /** Resident set size, bytes. */
  rss: number;
  /** User + system CPU time so far, ms (every thread of the process). */
  cpuMs: number;
}

const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** RSS and CPU time of another process, from /proc (Linux); undefined where /proc is not there. */
export async function processStats(pid: number | undefined): Promise<ProcessStats | undefined> {
  if (pid === undefined || process.platform !== "linux") return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th in all.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rss: rssKb * 1024, cpuMs: (ticks * 1000) / TICKS };
  } catch {
    return undefined;
  }
}
