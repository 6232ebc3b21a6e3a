import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, startConsoleServer } from "../helpers/console.js";
import { type RunView, realServersWorkspace, removeDir } from "../helpers/gateway.js";
import { repoRoot } from "../helpers/processes.js";

/** Debian's chromium (installed by .ci/run); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `console browser tests skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/** Where the screenshots go, for a person to look at (gitignored). */
export const SCREENSHOTS = path.join(repoRoot, "test-results", "console");

const V1 = `export default async function run(input, { call, step }) {
  const sum = await step("add", () => call("everything.get-sum", { a: input.a ?? 1, b: 2 }));
  return { sum };
}
`;
const V2 = `// v2: remembers each sum in the memory server.
export default async function run(input, { call, step }) {
  const sum = await step("add", () => call("everything.get-sum", { a: input.a ?? 1, b: 2 }));
  await step("remember", () =>
    call("memory.create_entities", {
      entities: [{ name: "last-sum", entityType: "sum", observations: [JSON.stringify(sum)] }],
    }),
  );
  return { sum };
}
`;

describe.skipIf(!hasChromium)("the web console in a real browser", { timeout: 60_000 }, () => {
  let dir: string;
  let root: string;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let failedRun: string;
  let nestedRun: string;
  const problems: string[] = [];

  beforeAll(async () => {
    const workspace = await realServersWorkspace();
    ({ dir, root } = workspace);
    server = await startConsoleServer(
      { mcpServers: workspace.servers, skillsmith: { store: `file:${path.join(dir, "state")}` } },
      dir,
    );
    // Two versions of one skill, saved through MCP as an agent saves them (each test run calls the tools for real).
    for (const code of [V1, V2]) {
      const saved = await server.call("save_skill", {
        name: "add-and-remember",
        description: "Adds two numbers and remembers the sum in the memory graph.",
        code,
        test: { input: { a: 40 } },
        overwrite: true,
      });
      expect(saved.isError, JSON.stringify(saved.content)).toBeFalsy();
    }
    // A skill that calls the skill, and a run of it: the called skill's steps nest under the calling step.
    const composed = await server.call("save_skill", {
      name: "add-twice",
      description: "Adds and remembers twice, through add-and-remember.",
      code: `export default async function run(input, { call, step }) {
  const first = await step("first", () => call("add-and-remember", { a: 1 }));
  const second = await step("second", () => call("add-and-remember", { a: 2 }));
  return { first, second };
}
`,
    });
    expect(composed.isError, JSON.stringify(composed.content)).toBeFalsy();
    const nested = await server.call("run_skill", { name: "add-twice" });
    expect(nested.isError, JSON.stringify(nested.content)).toBeFalsy();
    nestedRun = (nested.structuredContent as RunView).runId;
    // A run that fails at its second step: the note it reads is not there yet.
    const failed = await server.call("run_skill", {
      code: `export default async function run(input, { call, step }) {
  const listed = await step("list the folder", () => call("files.list_directory", { path: ${JSON.stringify(root)} }));
  const note = await step("read the note", () => call("files.read_text_file", { path: ${JSON.stringify(path.join(root, "note.txt"))} }));
  return { listed, note };
}`,
    });
    expect(failed.isError).toBe(true);
    failedRun = (failed.structuredContent as RunView).runId;

    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await newPage();
  }, 120_000);

  /** A page in a context of its own (a cold cache), whose console errors, page errors and failed requests are kept. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const opened = await context.newPage();
    // Well inside the test's own timeout, so a missing element fails with the locator in the message.
    opened.setDefaultTimeout(15_000);
    opened.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning")
        problems.push(`${message.type()}: ${message.text()}`);
    });
    opened.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Requests cut short by leaving a page (net::ERR_ABORTED) are the test's doing, not the page's.
    opened.on("requestfailed", (request) => {
      const why = request.failure()?.errorText ?? "";
      if (!why.includes("ERR_ABORTED")) problems.push(`request failed: ${request.url()} (${why})`);
    });
    return opened;
  }

  /** Each test starts from a page of the console (tests run in any order). */
  const open = async (hash: string) => {
    await page.goto(`${server.url}${hash}`);
    await page.locator("main h1").first().waitFor();
  };

  afterEach(() => {
    // Nothing the page did may have written an error or a warning to the browser console.
    expect(problems.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await removeDir(dir);
  });

  const shot = (name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("shows the three bundled servers ready, measured on a cold first load", async () => {
    const cold = await newPage();
    const transferred = new Map<string, number>();
    cold.on("requestfinished", async (request) => {
      const sizes = await request.sizes().catch(() => undefined);
      if (sizes) transferred.set(request.url(), sizes.responseBodySize + sizes.responseHeadersSize);
    });
    const started = Date.now();
    await cold.goto(server.url);
    await cold.locator("tr[data-server]").first().waitFor();
    const firstRender = Date.now() - started;
    for (const name of ["everything", "files", "memory"]) {
      await expect.poll(() => cold.locator(`tr[data-server="${name}"] .badge`).textContent()).toBe("ready");
      expect(
        Number(await cold.locator(`tr[data-server="${name}"] td.num`).first().textContent()),
      ).toBeGreaterThan(0);
    }
    const paint = Number(
      await cold.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"),
    );
    const kb = [...transferred.values()].reduce((a, b) => a + b, 0) / 1024;
    const metrics = {
      firstLoadKB: Math.round(kb * 10) / 10,
      requests: transferred.size,
      firstContentfulPaintMs: Math.round(paint),
      serversTableMs: firstRender,
    };
    await writeFile(path.join(SCREENSHOTS, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
    expect(metrics.requests).toBeGreaterThan(3);
    await cold.screenshot({ path: path.join(SCREENSHOTS, "servers.png"), fullPage: true });
    await cold.context().close();
  });

  it("runs a search with scores and observed shapes", async () => {
    await open("#/servers");
    await page.getByRole("link", { name: "Search", exact: true }).click();
    await page.getByLabel("What should the tool do?").fill("add two numbers");
    await page.getByRole("button", { name: "Search" }).click();
    const sum = page.locator(".result", {
      has: page.locator(".tool-name", { hasText: /^everything\.get-sum$/ }),
    });
    await sum.waitFor();
    expect(Number(await sum.locator(".score").textContent())).toBeGreaterThan(0);
    // The skill called get-sum when it was saved, so its answer was observed: the full detail shows its shape.
    expect(await sum.locator(".returns pre").textContent()).not.toBe("");
    expect(await page.locator(".result .tool-name").allTextContents()).toContain("add-and-remember");
    await shot("search");
  });

  it("lists the skill, marked as writing, and shows its code and the diff of its two versions", async () => {
    await open("#/servers");
    await page.getByRole("link", { name: "Skills", exact: true }).click();
    const card = page.locator('[data-skill="add-and-remember"]');
    await expect.poll(() => card.locator(".badge").allTextContents()).toContain("writes");
    await shot("skills");
    await card.getByRole("link").click();
    await page.getByRole("heading", { name: "Code (v2)" }).waitFor();
    expect(await page.locator(".code .hljs-keyword").count()).toBeGreaterThan(3);
    expect(await page.locator(".code").first().textContent()).toContain('call("memory.create_entities"');
    expect(await page.locator('tr[data-pin="pinned"]').count()).toBe(2);
    await page.locator(".line-add").first().waitFor();
    expect(await page.locator(".line-add").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('call("memory.create_entities", {')]),
    );
    await shot("skill");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("skill-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("opens the failed run's timeline, resumes it and sees it succeed", async () => {
    await open("#/servers");
    await page.getByRole("link", { name: "Runs", exact: true }).click();
    const row = page.locator(`tr[data-run="${failedRun}"]`);
    await expect.poll(() => row.getAttribute("data-status")).toBe("failed");
    await shot("runs");
    await row.getByRole("link").click();
    await page.locator(".step.failed").waitFor();
    expect(await page.locator(".step-label").allTextContents()).toEqual(["list the folder", "read the note"]);
    expect(await page.locator('[role="alert"]').first().textContent()).toContain("note.txt");
    await shot("run-failed");

    await writeFile(path.join(root, "note.txt"), "written after the failure");
    await page.getByRole("button", { name: "Resume run" }).click();
    await page.waitForURL((url) => url.hash.startsWith("#/runs/") && !url.hash.endsWith(failedRun));
    await expect.poll(() => page.locator("#run-title .badge").textContent()).toBe("ok");
    const steps = page.locator(".timeline > .step");
    expect(await steps.count()).toBe(2);
    expect(await steps.nth(0).locator(".badge").textContent()).toBe("replayed");
    expect(await steps.nth(1).locator(".badge").textContent()).toBe("live");
    expect(await page.locator(".json").first().textContent()).toContain("written after the failure");
    await shot("run-resumed");
  });

  it("shows a skill that calls a skill: its pinned callee, and the callee's steps nested in the run", async () => {
    await open("#/skills/add-twice");
    await page.locator('tr[data-callee="pinned"]').waitFor();
    expect(await page.locator('tr[data-callee="pinned"] th').textContent()).toBe("add-and-remember");
    await open(`#/runs/${nestedRun}`);
    const calls = page.locator(".nested-run");
    await expect.poll(() => calls.count()).toBe(2);
    expect(await calls.first().locator(".step-label").allTextContents()).toEqual(["add", "remember"]);
    expect(await calls.first().locator(".step-head .badge").first().textContent()).toBe("ok");
    await shot("run-nested");
  });

  it("is usable from the keyboard alone, and at phone width", async () => {
    // A fresh load, so the focus starts at the top of the document.
    await page.goto(`${server.url}#/servers`);
    await page.reload();
    await page.locator("tr[data-server]").first().waitFor();
    const focused = async () => ((await page.locator(":focus").textContent()) ?? "").trim();
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Skip to content");
    // Past the brand and "Servers" to "Search"; Enter follows the link, and the page's main region takes the focus.
    for (let i = 0; i < 3; i++) await page.keyboard.press("Tab");
    expect(await focused()).toBe("Search");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Search playground" }).waitFor();
    // The new page's main region takes the focus, so the next Tab reaches its first field.
    await expect.poll(() => page.evaluate("document.activeElement?.id")).toBe("main");
    await page.keyboard.press("Tab");
    await page.keyboard.type("read a text file");
    await page.keyboard.press("Enter");
    await page.locator(".result", { hasText: "files.read_text_file" }).first().waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}#/servers`);
    await expect.poll(() => page.locator('tr[data-server="files"] .badge').textContent()).toBe("ready");
    await shot("servers-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
