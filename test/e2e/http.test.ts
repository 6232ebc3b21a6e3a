import { request } from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServingOptions, parseConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { type HttpHandle, startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";
import { realServers, removeDir, tempDir } from "../helpers/gateway.js";

describe("serving over Streamable HTTP", () => {
  let dir: string;
  let gateway: Gateway;
  let open: HttpHandle;
  let guarded: HttpHandle;
  let limits: HttpServingOptions;

  beforeAll(async () => {
    dir = await tempDir();
    const config = parseConfig(
      {
        mcpServers: { everything: { command: process.execPath, args: [realServers.everything] } },
        skillsmith: { store: "memory:" },
      },
      { file: path.join(dir, "mcp.json"), baseDir: dir },
    );
    gateway = createGateway({ config });
    await gateway.start();
    await gateway.settled();
    limits = config.http;
    open = await startHttpServer(gateway, { host: "127.0.0.1", port: 0, limits }, silentLogger);
    guarded = await startHttpServer(
      gateway,
      { host: "127.0.0.1", port: 0, token: "s3cret", limits },
      silentLogger,
    );
  });

  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    await gateway?.close();
    await removeDir(dir);
  });

  const connect = async (url: string, headers: Record<string, string> = {}) => {
    const client = new Client({ name: "http-test", version: "0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  };

  it("serves two clients at once from one gateway", async () => {
    const [a, b] = await Promise.all([connect(open.url), connect(open.url)]);
    try {
      const [listA, listB] = await Promise.all([a.listTools(), b.listTools()]);
      // The meta-tools first; skills saved by other tests of this file may follow.
      expect(listA.tools.map((t) => t.name).slice(0, 4)).toEqual([
        "search_tools",
        "probe_tool",
        "save_skill",
        "run_skill",
      ]);
      expect(listB.tools).toEqual(listA.tools);
      const found = await b.callTool({ name: "search_tools", arguments: { query: "add two numbers" } });
      expect(JSON.stringify(found.structuredContent)).toContain("everything.get-sum");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("tells every connected client when a skill is saved", async () => {
    const watcher = await connect(open.url);
    const saver = await connect(open.url);
    try {
      const changed = new Promise<void>((resolve) => {
        watcher.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
      });
      const saved = await saver.callTool({
        name: "save_skill",
        arguments: { name: "http-skill", description: "x", code: "export default async () => 1" },
      });
      expect(saved.isError).toBeFalsy();
      await changed;
      expect((await watcher.listTools()).tools.map((t) => t.name)).toContain("http-skill");
    } finally {
      await Promise.all([watcher.close(), saver.close()]);
    }
  });

  it("requires the bearer token when one is set", async () => {
    await expect(connect(guarded.url)).rejects.toThrow(/wrong bearer token/);
    await expect(connect(guarded.url, { Authorization: "Bearer wrong" })).rejects.toThrow(
      /wrong bearer token/,
    );
    const client = await connect(guarded.url, { Authorization: "Bearer s3cret" });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("search_tools");
    await client.close();
  });

  it("rejects foreign origins and hosts", async () => {
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
        const req = request(
          open.url,
          {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              ...headers,
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    expect(await post({ origin: "https://evil.example" })).toBe(403);
    expect(await post({ host: "evil.example" })).toBe(403);
    expect(await post({ origin: "http://localhost:3000" })).toBe(400);
  });

  it("refuses to listen off loopback without a token", async () => {
    await expect(
      startHttpServer(gateway, { host: "0.0.0.0", port: 0, limits }, silentLogger),
    ).rejects.toThrow(/SKILLSMITH_TOKEN/);
  });
});
