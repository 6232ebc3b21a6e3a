import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realServers, removeDir, tempDir } from "../helpers/gateway.js";
import { assertBuilt, cliScript, waitFor } from "../helpers/processes.js";

/** The built bin serving the console (`serve --http` or `console`), on a free loopback port. */
describe("the console from the command line", () => {
  let dir: string;
  let config: string;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir("skillsmith-console-cli-");
    config = path.join(dir, "mcp.json");
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
        skillsmith: { store: "memory:" },
      }),
    );
  });

  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
    if (dir) await removeDir(dir);
  });

  /** Starts the bin; resolves with the console's URL from its log, and the way to stop it (SIGTERM) and see it exit. */
  async function start(args: string[]) {
    const child = spawn(process.execPath, [cliScript, ...args, "--port", "0", "--config", config], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    started.push(child);
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString("utf8");
    });
    const url = await waitFor(
      () => /console (?:for \S+ )?at (http:\/\/\S+\/)/.exec(log)?.[1],
      "the console's URL",
    );
    // The exit code, or the signal that killed it and the log, so a failure says why.
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? `killed by ${signal}; log: ${log}`)),
    );
    return {
      url,
      async stop() {
        child.kill("SIGTERM");
        return exited;
      },
    };
  }

  const ready = async (url: string) =>
    waitFor(async () => {
      const answer = (await (await fetch(new URL("api/servers", url))).json()) as {
        servers: Array<{ state: string }>;
      };
      return answer.servers[0]?.state === "ready";
    }, "the everything server to be ready");

  it("skillsmith console serves the console alone: its page and API, no /mcp", async () => {
    const served = await start(["console"]);
    expect((await fetch(served.url)).headers.get("content-security-policy")).toContain("script-src 'self'");
    await ready(served.url);
    expect((await fetch(new URL("mcp", served.url), { method: "POST" })).status).toBe(404);
    expect(await served.stop()).toBe(0);
  });

  it("skillsmith serve --http serves the console at / beside /mcp", async () => {
    const served = await start(["serve", "--http"]);
    const page = await fetch(served.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/assets/app.js">');
    await ready(served.url);
    const mcp = await fetch(new URL("mcp", served.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(mcp.status).toBe(400);
    expect(await served.stop()).toBe(0);
  });
});
