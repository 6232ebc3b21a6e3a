import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { type Browser, chromium } from "playwright-core";
import { gatewayConfig, writeConfig } from "../clients.js";
import { realServers } from "../fixtures.js";
import { type BenchContext, compare, formatRatio, missing, type Row, type RowGroup } from "../report.js";
import { median } from "../stats.js";

const GROUP = "9 Console";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `skillsmith console` from dist, on a free port; resolves with its URL once it logs it. */
async function startConsole(root: string, config: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [path.join(root, "dist/cli.js"), "console", "--port", "0", "--config", config],
    {
      cwd: path.dirname(config),
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString("utf8");
      const found = /console for \S+ at (http:\/\/\S+\/)/.exec(log)?.[1];
      if (found) resolve(found);
    });
    child.once("exit", (code) =>
      reject(new Error(`skillsmith console exited (${code}): ${log.slice(-500)}`)),
    );
  });
  return { url, child };
}

/**
 * The baseline: the MCP Inspector's web client (a devDependency), the page a user opens today to look at one
 * server, served from its own dist/ folder, gzipped like the console's files.
 */
async function serveInspector(): Promise<{ url: string; server: Server }> {
  const require = createRequire(import.meta.url);
  const dist = path.join(
    path.dirname(require.resolve("@modelcontextprotocol/inspector/package.json")),
    "client",
    "dist",
  );
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
  };
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    const file = path.join(dist, pathname === "/" ? "index.html" : pathname);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then((body) => {
      res.writeHead(200, {
        "content-type": types[path.extname(file)] ?? "application/octet-stream",
        "content-encoding": "gzip",
      });
      res.end(gzipSync(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

interface Load {
  kb: number;
  firstPaintMs: number;
  /** From navigation to the page's content on screen (ours: the servers table, with data). */
  renderedMs: number;
}

/** One cold load (a new browser context: no cache): bytes transferred until the network is idle, and first contentful paint. */
async function load(browser: Browser, url: string, ready: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let bytes = 0;
  const sizes: Promise<void>[] = [];
  page.on("requestfinished", (request) => {
    sizes.push(
      request.sizes().then(
        (s) => {
          bytes += s.responseBodySize + s.responseHeadersSize;
        },
        () => {},
      ),
    );
  });
  await page.goto(url);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  const renderedMs = Number(await page.evaluate("performance.now()"));
  await page.waitForLoadState("networkidle");
  const firstPaintMs = Number(
    await page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN"),
  );
  await Promise.all(sizes);
  await context.close();
  return { kb: bytes / 1024, firstPaintMs, renderedMs };
}

export const consolePage: RowGroup = {
  name: "console",
  async run(context: BenchContext): Promise<Row[]> {
    if (!existsSync(CHROMIUM)) {
      return [missing(GROUP, "console first load", `no chromium at ${CHROMIUM} (apt-get install chromium)`)];
    }
    const dir = context.tmp;
    const config = await writeConfig(dir, gatewayConfig(await realServers(dir), dir));
    const gateway = await startConsole(context.root, config);
    const inspector = await serveInspector();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const rounds = context.quick ? 2 : 5;
      const ours: Load[] = [];
      const theirs: Load[] = [];
      // Interleaved, so load on the machine hits both alike.
      for (let i = 0; i < rounds; i++) {
        ours.push(await load(browser, gateway.url, "tr[data-server]"));
        theirs.push(await load(browser, inspector.url, "#root *"));
      }
      const kb = (loads: Load[]) => median(loads.map((l) => l.kb));
      const paint = (loads: Load[]) => median(loads.map((l) => l.firstPaintMs));
      const rendered = (loads: Load[]) => median(loads.map((l) => l.renderedMs));
      return [
        {
          group: GROUP,
          measure: "page weight, first load (kB transferred, gzip), vs the MCP Inspector's web client",
          skillsmith: `${kb(ours).toFixed(1)} kB`,
          baseline: `${kb(theirs).toFixed(1)} kB`,
          ratio: formatRatio(kb(ours), kb(theirs)),
          note: `lower is better; median of ${rounds} cold loads in Debian's chromium (headless); ours includes the API answers of the servers page`,
        },
        compare(
          GROUP,
          "first contentful paint, cold load, vs the MCP Inspector's web client",
          paint(ours),
          paint(theirs),
          "ms",
          `lower is better; median of ${rounds}; both served from loopback`,
        ),
        compare(
          GROUP,
          "first render with content: the servers table (its data fetched) vs the Inspector's first rendered element",
          rendered(ours),
          rendered(theirs),
          "ms",
          `lower is better; median of ${rounds}; from navigation start, in the page's own clock`,
        ),
      ];
    } finally {
      await browser.close();
      inspector.server.close();
      gateway.child.kill("SIGTERM");
    }
  },
};
