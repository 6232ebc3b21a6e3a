import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, startConsoleServer } from "../helpers/console.js";
import { type RunView, realServers, removeDir, tempDir } from "../helpers/gateway.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => { error?: { code: string; message: string; issues?: string[] } } & Record<string, unknown>;
}

/** A raw HTTP request, so headers a browser would set (Origin, Host) can be forged. */
function send(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const json = (body: unknown) => {
  const text = JSON.stringify(body);
  return {
    headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
    body: text,
  };
};

const SECRET = "tok-console-5b1e9a";
/** A server that fails to start and quotes its token on stderr (the token comes from ${VAR} in mcp.json). */
const leaky = {
  command: process.execPath,
  args: [
    "-e",
    'console.error("unknown flag --token=" + process.argv[1]); process.exit(3)',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp.json takes ${VAR} in plain strings
    "${CONSOLE_TEST_TOKEN}",
  ],
};

const CODE = (n: number) => `export default async function run() { return ${n}; }\n`;

describe("the console's HTTP surface", () => {
  let dir: string;
  let open: ConsoleServer;
  let guarded: ConsoleServer;

  beforeAll(async () => {
    process.env.CONSOLE_TEST_TOKEN = SECRET;
    dir = await tempDir();
    const everything = { command: process.execPath, args: [realServers.everything] };
    open = await startConsoleServer(
      { mcpServers: { everything, leaky }, skillsmith: { store: "memory:" } },
      dir,
    );
    guarded = await startConsoleServer(
      { mcpServers: { everything }, skillsmith: { store: "memory:" } },
      dir,
      {
        token: "s3cret-token",
      },
    );
  });

  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    if (dir) await removeDir(dir);
    delete process.env.CONSOLE_TEST_TOKEN;
  });

  it("shows a failed server's last error with the secrets of mcp.json redacted", async () => {
    const answer = await send(open.url, "/api/servers");
    expect(answer.text).not.toContain(SECRET);
    const servers = answer.json().servers as Array<{
      name: string;
      state: string;
      lastFailure?: { message: string };
    }>;
    const failed = servers.find((s) => s.name === "leaky");
    expect(failed?.state).not.toBe("ready");
    expect(failed?.lastFailure?.message).toContain("--token=***");
    expect(servers.find((s) => s.name === "everything")).toMatchObject({ state: "ready", restarts: 0 });
  });

  it("serves the page under a strict CSP, with no inline script and every asset from the package", async () => {
    const page = await send(open.url, "/");
    expect(page.status).toBe(200);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/assets\//);
      expect(body?.trim()).toBe("");
    }
    const assets = [...page.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
    const app = await send(open.url, "/assets/app.js");
    assets.push(...[...app.text.matchAll(/from "\.\/([^"]+)"/g)].map((m) => `/assets/${m[1]}`));
    for (const asset of assets) {
      const answer = await send(open.url, asset);
      expect(answer.status, asset).toBe(200);
      expect(answer.headers["content-type"], asset).toMatch(/^(text\/(javascript|css)|image\/svg\+xml)/);
    }
    expect((await send(open.url, "/assets/../package.json")).status).toBe(404);
    expect((await send(open.url, "/nope")).status).toBe(404);
  });

  it("refuses another Origin and a foreign Host with 403, as JSON", async () => {
    const foreign = await send(open.url, "/api/servers", { headers: { origin: "https://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error).toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("evil.example"),
    });
    const rebinding = await send(open.url, "/api/servers", { headers: { host: "evil.example" } });
    expect(rebinding.status).toBe(403);
    const self = new URL(open.url).origin;
    expect((await send(open.url, "/api/servers", { headers: { origin: self } })).status).toBe(200);
  });

  it("asks for the bearer token on the API (401) when one is set, but serves the page itself", async () => {
    const without = await send(guarded.url, "/api/servers");
    expect(without.status).toBe(401);
    expect(without.headers["www-authenticate"]).toBe("Bearer");
    expect(without.json().error).toMatchObject({ code: "UNAUTHORIZED" });
    const wrong = await send(guarded.url, "/api/servers", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const right = await send(guarded.url, "/api/servers", {
      headers: { authorization: "Bearer s3cret-token" },
    });
    expect(right.status).toBe(200);
    expect(right.json().servers).toEqual([
      expect.objectContaining({ name: "everything", state: "ready", restarts: 0 }),
    ]);
    expect((await send(guarded.url, "/")).status).toBe(200);
  });

  it("answers bad input with a JSON error that says what was wrong, and changes nothing", async () => {
    const search = await send(open.url, "/api/search", { method: "POST", ...json({ query: " ", limit: 0 }) });
    expect(search.status).toBe(400);
    const error = search.json().error;
    expect(error?.code).toBe("INVALID_ARGUMENTS");
    expect(error?.issues?.join("\n")).toMatch(/^query: .*blank/m);
    expect(error?.issues?.join("\n")).toMatch(/^limit: /m);

    const notJson = await send(open.url, "/api/search", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{query",
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error?.code).toBe("PARSE_ERROR");
    const form = await send(open.url, "/api/search", { method: "POST", body: "query=x" });
    expect(form.status).toBe(415);
    const huge = await send(open.url, "/api/search", {
      method: "POST",
      ...json({ query: "x".repeat(100_000) }),
    });
    expect(huge.status).toBe(413);

    expect((await send(open.url, "/api/skills/Not%20A%20Name")).json().error?.code).toBe("INVALID_ARGUMENTS");
    expect((await send(open.url, "/api/skills/no-such-skill")).status).toBe(404);
    expect((await send(open.url, "/api/skills/%E0%A4%A")).status).toBe(400);
    expect((await send(open.url, "/api/runs?limit=-3")).status).toBe(400);
    expect((await send(open.url, "/api/runs/no-such-run")).status).toBe(404);
    expect((await send(open.url, "/api/nothing")).json().error?.code).toBe("NOT_FOUND");
    const method = await send(open.url, "/api/servers", { method: "DELETE" });
    expect(method.status).toBe(405);
    expect(method.json().error?.message).toContain("takes GET");
  });

  it("keeps versions: diff, roll back, and delete only with the name typed again", async () => {
    for (const n of [1, 2]) {
      const saved = await open.call("save_skill", {
        name: "console-api",
        description: "returns a number",
        code: CODE(n),
        overwrite: true,
      });
      expect(saved.isError).toBeFalsy();
    }
    const diff = await send(open.url, "/api/skills/console-api/diff?from=1&to=2");
    expect(diff.json().hunks).toEqual([
      expect.objectContaining({
        lines: [
          { kind: "remove", text: "export default async function run() { return 1; }", old: 1 },
          { kind: "add", text: "export default async function run() { return 2; }", new: 1 },
        ],
      }),
    ]);
    expect((await send(open.url, "/api/skills/console-api/diff?from=one&to=2")).status).toBe(400);
    expect((await send(open.url, "/api/skills/console-api/diff?from=1&to=9")).status).toBe(404);
    expect(
      (await send(open.url, "/api/skills/console-api/restore", { method: "POST", ...json({ version: 9 }) }))
        .status,
    ).toBe(404);

    const restored = await send(open.url, "/api/skills/console-api/restore", {
      method: "POST",
      ...json({ version: 1 }),
    });
    expect(restored.json()).toEqual({ name: "console-api", version: 3, restoredFrom: 1 });
    const detail = await send(open.url, "/api/skills/console-api");
    expect(detail.json()).toMatchObject({ version: 3, code: CODE(1) });
    expect((detail.json().versions as unknown[]).length).toBe(3);
    const ran = await open.call("run_skill", { name: "console-api" });
    expect((ran.structuredContent as RunView).result).toBe(1);

    const unconfirmed = await send(open.url, "/api/skills/console-api", {
      method: "DELETE",
      ...json({ confirm: "other" }),
    });
    expect(unconfirmed.status).toBe(400);
    expect((await send(open.url, "/api/skills/console-api")).status).toBe(200);
    const deleted = await send(open.url, "/api/skills/console-api", {
      method: "DELETE",
      ...json({ confirm: "console-api" }),
    });
    expect(deleted.json()).toEqual({ deleted: "console-api" });
    expect((await open.client.listTools()).tools.map((t) => t.name)).not.toContain("console-api");
    expect((await send(open.url, "/api/skills/console-api")).status).toBe(404);
  });

  it("lists recent runs of every kind, newest first, and refuses to resume one that succeeded", async () => {
    const ok = await open.call("run_skill", { code: CODE(7) });
    const failed = await open.call("run_skill", {
      code: `export default async function run(input, { step }) {
  await step("fine", () => 1);
  await step("breaks", () => { throw new Error("boom"); });
}`,
    });
    const okId = (ok.structuredContent as RunView).runId;
    const failedId = (failed.structuredContent as RunView).runId;
    const runs = (await send(open.url, "/api/runs?limit=5")).json().runs as Array<Record<string, unknown>>;
    expect(runs.slice(0, 2)).toEqual([
      expect.objectContaining({
        runId: failedId,
        status: "failed",
        adHoc: true,
        failedStep: { index: 1, label: "breaks" },
      }),
      expect.objectContaining({ runId: okId, status: "ok", adHoc: true }),
    ]);
    const detail = (await send(open.url, `/api/runs/${failedId}`)).json();
    expect(detail).toMatchObject({ resumable: true, error: expect.stringContaining("boom") });
    expect(detail.steps).toEqual([
      { index: 0, label: "fine", ms: expect.any(Number), shape: "number", replayed: false },
    ]);

    const again = await send(open.url, `/api/runs/${okId}/resume`, { method: "POST", ...json({}) });
    expect(again.status).toBe(409);
    expect(again.json().error?.message).toContain("finished successfully");
    const extra = await send(open.url, `/api/runs/${failedId}/resume`, {
      method: "POST",
      ...json({ code: "x" }),
    });
    expect(extra.status).toBe(400);
  });
});
