import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { cliScript, waitFor } from "./processes.js";
import { freePort } from "./redis.js";

/** Debian's nginx (nginx-light) lives in /usr/sbin, which a user's PATH may lack; `.ci/run` installs it. */
export const nginxBinary = ["/usr/sbin/nginx", "nginx"].find(
  (candidate) =>
    (candidate.includes("/") ? existsSync(candidate) : true) && spawnSync(candidate, ["-v"]).status === 0,
);

export interface Instance {
  port: number;
  url: string;
  /** What it wrote to stderr so far. */
  log(): string;
  /** Stops it with SIGTERM, as an operator would, and waits for it to exit. */
  stop(): Promise<void>;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** `skillsmith serve --http` from dist, on a free loopback port; resolves once its /readyz says ready. */
export async function startInstance(configFile: string): Promise<Instance> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [cliScript, "serve", "--http", "--port", String(port), "--config", configFile, "--log-format", "json"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const log: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`skillsmith exited: ${log.join("")}`);
      return (await fetch(`${url}/readyz`)).status === 200;
    },
    `skillsmith on port ${port} to be ready`,
    30_000,
  );
  return { port, url, log: () => log.join(""), stop: () => stopped(child) };
}

export interface Balancer {
  url: string;
  stop(): Promise<void>;
}

/**
 * nginx round-robin over `ports`, without affinity, configured as the README says for SSE (no buffering, long
 * read timeouts, HTTP/1.1 to the upstreams); every answer says which upstream served it (X-Upstream).
 */
export async function startBalancer(binary: string, dir: string, ports: number[]): Promise<Balancer> {
  await mkdir(path.join(dir, "temp"), { recursive: true });
  const port = await freePort();
  const temp = path.join(dir, "temp");
  const conf = path.join(dir, "nginx.conf");
  await writeFile(
    conf,
    `worker_processes 1;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  upstream skillsmith {
${ports.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://skillsmith;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # The instances bind to loopback, where they accept only a loopback Host (DNS rebinding).
      proxy_set_header Host localhost;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`,
  );
  const child = spawn(
    binary,
    ["-p", dir, "-e", path.join(dir, "error.log"), "-c", conf, "-g", "daemon off;"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const errors: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => errors.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${errors.join("")}`);
      return (await fetch(`${url}/healthz`)).status === 200;
    },
    "nginx to answer",
    15_000,
  );
  return { url, stop: () => stopped(child) };
}
