import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  ElicitRequestSchema,
  LATEST_PROTOCOL_VERSION,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServingOptions, parseConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { type HttpHandle, startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";
import { realServers, removeDir, tempDir, textOf } from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";
import { HEADERS, INITIALIZE } from "../helpers/raw-http.js";
import { hasRedis, startRedis, type TestRedis } from "../helpers/redis.js";

const LIST = { jsonrpc: "2.0", id: 1, method: "tools/list" };

async function gatewayOn(dir: string, skillsmith: Record<string, unknown>, mcpServers = {}) {
  const config = parseConfig(
    { mcpServers, skillsmith: { registryDir: "registry", ...skillsmith } },
    { file: path.join(dir, "mcp.json"), baseDir: dir },
  );
  const gateway = createGateway({ config, serving: true });
  await gateway.start();
  return { gateway, limits: config.http };
}

const listen = (gateway: Gateway, limits: HttpServingOptions, token?: string) =>
  startHttpServer(gateway, { host: "127.0.0.1", port: 0, limits, ...(token && { token }) }, silentLogger);

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });

describe("stateless HTTP (skillsmith.http.sessions: stateless)", () => {
  let dir: string;
  let gateway: Gateway;
  let http: HttpHandle;

  beforeAll(async () => {
    dir = await tempDir();
    const started = await gatewayOn(dir, { store: "memory:", http: { sessions: "stateless" } });
    gateway = started.gateway;
    http = await listen(gateway, started.limits);
  });

  afterAll(async () => {
    await http?.close();
    await gateway?.close();
    await removeDir(dir);
  });

  it("answers an SDK client without a session, and refuses GET and DELETE with a reason", async () => {
    const client = new Client({ name: "stateless", version: "0" });
    const transport = new StreamableHTTPClientTransport(new URL(http.url));
    await client.connect(transport);
    expect(transport.sessionId).toBeUndefined();
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("search_tools");
    const found = await client.callTool({ name: "search_tools", arguments: { query: "anything" } });
    expect(found.isError).toBeFalsy();
    await client.close();
    // A request needs no initialize first: nothing is kept between requests.
    const listed = await post(http.url, LIST);
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain("search_tools");
    const stream = await fetch(http.url, { headers: { accept: "text/event-stream" } });
    expect(stream.status).toBe(405);
    expect(await stream.text()).toMatch(/stateless/);
  });
});

describe("operations endpoints and the bearer token", () => {
  let dir: string;
  let gateway: Gateway;
  let guarded: HttpHandle;
  let open: HttpHandle;

  beforeAll(async () => {
    dir = await tempDir();
    const started = await gatewayOn(dir, { store: "memory:" });
    gateway = started.gateway;
    guarded = await listen(gateway, started.limits, "s3cret-token");
    open = await listen(gateway, { ...started.limits, opsWithoutToken: true }, "s3cret-token");
  });

  afterAll(async () => {
    await guarded?.close();
    await open?.close();
    await gateway?.close();
    await removeDir(dir);
  });

  const at = (handle: HttpHandle, route: string) => handle.url.replace(/\/mcp$/, route);

  it("answer a loopback caller without the token, a proxied one only with it (or when configured)", async () => {
    const proxied = { "x-forwarded-for": "203.0.113.9" };
    for (const route of ["/healthz", "/readyz", "/metrics"]) {
      expect((await fetch(at(guarded, route))).status).toBe(200);
      expect((await fetch(at(guarded, route), { headers: proxied })).status).toBe(401);
      const withToken = await fetch(at(guarded, route), {
        headers: { ...proxied, authorization: "Bearer s3cret-token" },
      });
      expect(withToken.status).toBe(200);
      expect((await fetch(at(open, route), { headers: proxied })).status).toBe(200);
    }
    // /mcp itself still wants the token from loopback.
    expect((await post(guarded.url, INITIALIZE)).status).toBe(401);
  });

  it("say what they are, and take only GET", async () => {
    const ready = await fetch(at(guarded, "/readyz"));
    expect(await ready.json()).toMatchObject({
      ready: true,
      store: { url: "memory:", reachable: true },
      servers: [],
    });
    const metrics = await fetch(at(guarded, "/metrics"));
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/# TYPE skillsmith_tool_calls_total counter/);
    expect((await fetch(at(guarded, "/metrics"), { method: "POST" })).status).toBe(405);
  });
});

describe.skipIf(!hasRedis)("shared sessions: any instance serves any session", () => {
  let dir: string;
  let redis: TestRedis;
  const gateways: Gateway[] = [];
  let a: HttpHandle;
  let b: HttpHandle;

  beforeAll(async () => {
    dir = await tempDir();
    redis = await startRedis();
    const handles: HttpHandle[] = [];
    for (const name of ["a", "b"]) {
      const started = await gatewayOn(
        dir,
        { store: redis.url, skillsDir: `skills-${name}` },
        { everything: { command: process.execPath, args: [realServers.everything] } },
      );
      expect(started.limits.sessions).toBe("shared");
      gateways.push(started.gateway);
      handles.push(await listen(started.gateway, started.limits));
    }
    [a, b] = handles as [HttpHandle, HttpHandle];
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const gateway of gateways) await gateway.close();
    await redis?.stop();
    await removeDir(dir);
  });

  it("a session started on A is served by B; ended on B, it is gone on A too; an unknown one is 404", async () => {
    const started = await post(a.url, INITIALIZE);
    const id = started.headers.get("mcp-session-id") ?? "";
    expect(id).not.toBe("");
    await started.text();
    const session = { "mcp-session-id": id, "mcp-protocol-version": LATEST_PROTOCOL_VERSION };
    const onB = await post(b.url, LIST, session);
    expect(onB.status).toBe(200);
    expect(await onB.text()).toContain("search_tools");
    expect((await post(a.url, LIST, session)).status).toBe(200);

    const ended = await fetch(b.url, { method: "DELETE", headers: session });
    expect(ended.status).toBe(200);
    await waitFor(async () => (await post(a.url, LIST, session)).status === 404, "A to drop the session");

    const unknown = await post(b.url, LIST, { ...session, "mcp-session-id": "no-such-session" });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/initialize/);
  });

  it("a client's answer to an elicitation that lands on the other instance still reaches the tool that asked", async () => {
    // POSTs that only answer the server go to B; everything else goes to A.
    let answeredOnB = 0;
    const routed: typeof fetch = async (input, init) => {
      const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { method?: string }) : {};
      if (init?.method !== "POST" || "method" in body) return fetch(input, init);
      answeredOnB += 1;
      return fetch(String(input).replace(a.url, b.url), init);
    };
    const client = new Client(
      { name: "answers-elsewhere", version: "0" },
      { capabilities: { elicitation: {} } },
    );
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { name: "Ada Lovelace" },
    }));
    await client.connect(new StreamableHTTPClientTransport(new URL(a.url), { fetch: routed }));
    try {
      const result = (await client.callTool({
        name: "run_skill",
        arguments: {
          code: `export default async (input, { call }) => call("everything.trigger-elicitation-request", {})`,
        },
      })) as CallToolResult;
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(JSON.stringify(result.structuredContent)).toContain("Ada Lovelace");
      expect(answeredOnB).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
