import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

/** `.ci/run` installs Debian's redis-server; without it the Redis tests cannot run, and say so. */
export const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server on a free loopback port; `port` reuses one (a restart). It persists nothing, unless
 * given a `dir`: then every write goes to an append-only file there, and a restart on that dir finds it again.
 */
export async function startRedis(port?: number, { dir }: { dir?: string } = {}): Promise<TestRedis> {
  const at = port ?? (await freePort());
  const persistence = dir
    ? ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    : ["--save", "", "--appendonly", "no"];
  const redis: ChildProcess = spawn(
    "redis-server",
    ["--port", String(at), "--bind", "127.0.0.1", ...persistence],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    redis.on("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
    redis.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Ready to accept connections")) resolve();
    });
  });
  return {
    url: `redis://127.0.0.1:${at}`,
    port: at,
    stop: () =>
      new Promise<void>((resolve) => {
        if (redis.exitCode !== null) return resolve();
        redis.once("exit", () => resolve());
        redis.kill();
      }),
  };
}
