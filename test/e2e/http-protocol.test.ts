import { request } from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type HttpServingOptions, parseConfig } from "../../src/config.js";
import { createGateway, type Gateway } from "../../src/gateway.js";
import { type HttpHandle, startHttpServer } from "../../src/http-server.js";
import { silentLogger } from "../../src/logger.js";
import { removeDir, tempDir } from "../helpers/gateway.js";
import { HEADERS, INITIALIZE } from "../helpers/raw-http.js";

interface SseEvent {
  id?: string;
  data: string;
}

/** The events of an SSE body; `data` is "" for a priming event. */
function parseEvents(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const event: SseEvent = { data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) event.id = line.slice(4);
        if (line.startsWith("data: ")) event.data += line.slice(6);
      }
      return event;
    });
}

/** The JSON-RPC error of a refusal. */
async function errorOf(response: Response): Promise<{ code: number; message: string }> {
  return ((await response.json()) as { error: { code: number; message: string } }).error;
}

/** Reads an SSE stream that stays open until an event with data arrives, then lets go of it. */
async function firstMessage(response: Response): Promise<SseEvent> {
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended without a message: ${text}`);
      text += value;
      const found = parseEvents(text).find((e) => e.data.trim() !== "" && text.endsWith("\n\n"));
      if (found) return found;
    }
  } finally {
    await reader.cancel();
  }
}

describe("Streamable HTTP, to the letter of the spec", () => {
  let dir: string;
  let gateway: Gateway;
  let limits: HttpServingOptions;
  let main: HttpHandle;
  /** Closes sessions idle for 250 ms. */
  let expiring: HttpHandle;
  /** Holds two sessions at most. */
  let capped: HttpHandle;
  /** Keeps no events: skillsmith.http.resumable false. */
  let plain: HttpHandle;
  /** The skill-change listeners registered and not yet removed: one per live MCP server. */
  const listening = new Set<object>();

  beforeAll(async () => {
    dir = await tempDir();
    const config = parseConfig(
      { mcpServers: {}, skillsmith: { store: "memory:" } },
      { file: path.join(dir, "mcp.json"), baseDir: dir },
    );
    gateway = createGateway({ config });
    await gateway.start();
    const onChange = gateway.skills.onChange.bind(gateway.skills);
    vi.spyOn(gateway.skills, "onChange").mockImplementation((listener) => {
      const token = {};
      listening.add(token);
      const stop = onChange(listener);
      return () => {
        listening.delete(token);
        stop();
      };
    });
    limits = config.http;
    const serve = (overrides: Partial<HttpServingOptions>) =>
      startHttpServer(
        gateway,
        { host: "127.0.0.1", port: 0, limits: { ...limits, ...overrides } },
        silentLogger,
      );
    [main, expiring, capped, plain] = await Promise.all([
      serve({}),
      serve({ sessionIdleMs: 250 }),
      serve({ maxSessions: 2 }),
      serve({ resumable: false }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([main, expiring, capped, plain].map((server) => server?.close()));
    await gateway?.close();
    vi.restoreAllMocks();
    await removeDir(dir);
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: "POST",
      headers: { ...HEADERS, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  /** A session opened by hand, as a client that may vanish without saying goodbye. */
  const initialize = async (url: string) => {
    const response = await post(url, INITIALIZE);
    expect(response.status).toBe(200);
    await response.text();
    const id = response.headers.get("mcp-session-id") ?? "";
    const session = { "mcp-session-id": id, "mcp-protocol-version": LATEST_PROTOCOL_VERSION };
    await (await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, session)).text();
    return session;
  };

  const ping = async (url: string, session: Record<string, string>) => {
    const response = await post(url, { jsonrpc: "2.0", id: 1, method: "ping" }, session);
    await response.text();
    return response.status;
  };

  const connect = async (url: string) => {
    const client = new Client({ name: "protocol-test", version: "0" });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    return { client, sessionId: transport.sessionId ?? "" };
  };

  it("answers an unknown session id with 404 on POST, GET and DELETE, and no session id with 400", async () => {
    const stale = { "mcp-session-id": "not-a-session" };
    const answers = [
      await post(main.url, { jsonrpc: "2.0", id: 1, method: "ping" }, stale),
      await fetch(main.url, { headers: { accept: "text/event-stream", ...stale } }),
      await fetch(main.url, { method: "DELETE", headers: stale }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.headers.get("content-type")).toBe("application/json");
      const error = await errorOf(answer);
      expect(error.code).toBe(-32001);
      expect(error.message).toMatch(/new initialize request/);
    }
    const noSession = await post(main.url, { jsonrpc: "2.0", id: 1, method: "ping" });
    expect(noSession.status).toBe(400);
    expect((await errorOf(noSession)).message).toMatch(/send an initialize request first/);
    expect((await fetch(main.url, { headers: { accept: "text/event-stream" } })).status).toBe(400);
  });

  it("answers malformed JSON with a JSON-RPC parse error: JSON, no HTML, no stack, no paths", async () => {
    const response = await post(main.url, '{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({
      code: -32700,
      message: expect.stringMatching(/not JSON/),
    });
    expect(text).not.toMatch(/<html|<pre|\n\s+at |node_modules/i);
    expect(text).not.toContain(process.cwd());
  });

  it("refuses a body over the limit with 413 naming the limit and its setting, declared or streamed", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(5e6) } });
    const declared = await post(main.url, big);
    const streamed = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(main.url, { method: "POST", headers: HEADERS }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      // No Content-Length: the limit can only be seen while reading.
      for (let at = 0; at < big.length; at += 65_536) req.write(big.slice(at, at + 65_536));
      req.end();
    });
    for (const [status, text] of [
      [declared.status, await declared.text()],
      [streamed.status, streamed.text],
    ] as const) {
      expect(status).toBe(413);
      const { error } = JSON.parse(text);
      expect(error.message).toContain(String(limits.maxBodyBytes));
      expect(error.message).toContain("skillsmith.http.maxBodyBytes");
    }
  });

  it("saves a 2 MB skill over HTTP", async () => {
    const { client } = await connect(main.url);
    try {
      const code = `// ${"a long comment ".repeat(140_000)}\nexport default async () => "big";`;
      expect(code.length).toBeGreaterThan(2_000_000);
      const saved = await client.callTool({
        name: "save_skill",
        arguments: { name: "big-skill", description: "a skill of two megabytes", code, test: { input: {} } },
      });
      expect(saved.isError).toBeFalsy();
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("big-skill");
    } finally {
      await client.close();
    }
  });

  it("answers other methods with 405 and the methods it allows", async () => {
    for (const method of ["PUT", "PATCH", "OPTIONS"]) {
      const response = await fetch(main.url, { method, headers: HEADERS });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, POST, DELETE");
      expect((await errorOf(response)).message).toContain(`Method ${method} is not allowed`);
    }
  });

  it("replays the events a client missed when it comes back with Last-Event-ID", async () => {
    const session = await initialize(main.url);
    const listed = await post(main.url, { jsonrpc: "2.0", id: 7, method: "tools/list" }, session);
    const [priming, answer] = parseEvents(await listed.text());
    // The stream opens with a priming event: an id to resume from, and no message.
    expect(priming?.id).toBeDefined();
    expect(priming?.data.trim()).toBe("");
    expect(JSON.parse(answer?.data ?? "").id).toBe(7);

    const resumed = await fetch(main.url, {
      headers: { accept: "text/event-stream", ...session, "last-event-id": priming?.id ?? "" },
    });
    expect(resumed.status).toBe(200);
    const replayed = await firstMessage(resumed);
    expect(replayed.id).toBe(answer?.id);
    expect(JSON.parse(replayed.data)).toEqual(JSON.parse(answer?.data ?? ""));

    // Each session keeps its own events: another session cannot resume from this one's ids.
    const other = await initialize(main.url);
    const foreign = await fetch(main.url, {
      headers: { accept: "text/event-stream", ...other, "last-event-id": answer?.id ?? "" },
    });
    expect(foreign.status).toBe(400);
    await foreign.text();
  });

  it("with http.resumable false, answers with the message alone: no priming event, no event ids", async () => {
    const session = await initialize(plain.url);
    const listed = await post(plain.url, { jsonrpc: "2.0", id: 7, method: "tools/list" }, session);
    const events = parseEvents(await listed.text());
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBeUndefined();
    expect(JSON.parse(events[0]?.data ?? "").id).toBe(7);
  });

  it("reports an unknown tool with one MCP error prefix, not two", async () => {
    const { client } = await connect(main.url);
    try {
      const call = client.callTool({ name: "no_such_tool", arguments: {} });
      await expect(call).rejects.toMatchObject({
        code: -32602,
        message: expect.stringMatching(/^MCP error -32602: Unknown tool "no_such_tool"\. .*search_tools/),
      });
    } finally {
      await client.close();
    }
  });

  it("closes abandoned sessions once idle: their ids get 404 and their listeners are gone", async () => {
    const before = listening.size;
    const abandoned = [await connect(expiring.url), await connect(expiring.url)];
    const raw = await initialize(expiring.url);
    expect(listening.size).toBe(before + 3);
    // Closing the client transport drops its connections without a DELETE: the client just went away.
    for (const { client } of abandoned) await client.close();
    await vi.waitFor(() => expect(listening.size).toBe(before), { timeout: 5000, interval: 20 });
    for (const { sessionId } of abandoned) {
      expect(await ping(expiring.url, { "mcp-session-id": sessionId })).toBe(404);
    }
    expect(await ping(expiring.url, raw)).toBe(404);
  });

  it("closes the server of an initialize the transport refused", async () => {
    const before = listening.size;
    const refused = await post(main.url, INITIALIZE, { accept: "application/json" });
    expect(refused.status).toBe(406);
    await refused.text();
    expect(listening.size).toBe(before);
  });

  it("closes the longest idle session when the cap is reached", async () => {
    const first = await initialize(capped.url);
    const second = await initialize(capped.url);
    expect(await ping(capped.url, second)).toBe(200);
    const before = listening.size;
    const third = await initialize(capped.url);
    expect(listening.size).toBe(before);
    expect(await ping(capped.url, first)).toBe(404);
    expect(await ping(capped.url, second)).toBe(200);
    expect(await ping(capped.url, third)).toBe(200);
  });
});
