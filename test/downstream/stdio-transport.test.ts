import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { StdioChildTransport } from "../../src/downstream/stdio-transport.js";
import { waitFor } from "../helpers/processes.js";

const LIMIT = 64 * 1024;

/**
 * A raw JSON-RPC peer that answers each request `{bytes, order, kind}` with a line of about `bytes` bytes:
 * `order` "python" writes `{"jsonrpc", "id", "result"}` (id first), "sdk" writes `{"result", "jsonrpc", "id"}` (id
 * last), "none" leaves the id out; `kind` "notification" sends a notification that big instead of an answer,
 * "silent" sends nothing. Notifications it gets are ignored.
 */
const PEER = `
let rest = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (rest + chunk).split("\\n");
  rest = lines.pop();
  for (const line of lines) {
    const { id, params } = JSON.parse(line);
    if (id === undefined || params.kind === "silent") continue;
    const result = JSON.stringify({ text: "x".repeat(params.bytes) });
    const out =
      params.kind === "notification" ? '{"jsonrpc":"2.0","method":"notifications/message","params":' + result + "}"
      : params.order === "python" ? '{"jsonrpc":"2.0","id":' + JSON.stringify(id) + ',"result":' + result + "}"
      : params.order === "sdk" ? '{"result":' + result + ',"jsonrpc":"2.0","id":' + JSON.stringify(id) + "}"
      : '{"result":' + result + ',"jsonrpc":"2.0"}';
    // Several writes per line, as a large answer arrives in chunks.
    for (let at = 0; at < out.length; at += 10000) process.stdout.write(out.slice(at, at + 10000));
    process.stdout.write("\\n");
  }
});
`;

describe("StdioChildTransport", () => {
  let transport: StdioChildTransport | undefined;
  afterEach(async () => {
    await transport?.close();
  });

  async function start() {
    const started = new StdioChildTransport({
      name: "raw",
      command: process.execPath,
      args: ["-e", PEER],
      env: {},
      cwd: process.cwd(),
      maxMessageBytes: LIMIT,
    });
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    started.onmessage = (message) => messages.push(message);
    started.onerror = (error) => errors.push(error);
    await started.start();
    transport = started;
    const request = (id: number | string, params: Record<string, unknown>) =>
      started.send({ jsonrpc: "2.0", id, method: "tools/call", params });
    const answerTo = (id: number | string) =>
      waitFor(() => messages.find((m) => "id" in m && m.id === id), `the answer to ${id}`);
    return { request, answerTo, messages, errors, transport: started };
  }

  it.each(["python", "sdk"])(
    "fails an oversized answer with its id %s-style, and passes the others",
    async (order) => {
      const { request, answerTo } = await start();
      await request(1, { bytes: 10 * LIMIT, order });
      await request("two", { bytes: 100, order });
      await request(3, { bytes: LIMIT - 100, order });
      expect(await answerTo("two")).toMatchObject({ result: { text: "x".repeat(100) } });
      const failed = await answerTo(1);
      expect(failed).toMatchObject({
        error: { message: expect.stringContaining(`limit of ${LIMIT} bytes`) },
      });
      expect(JSON.stringify(failed)).toContain("skillsmith.servers.raw.maxMessageBytes");
      expect(await answerTo(3)).toMatchObject({ result: { text: expect.any(String) } });
    },
  );

  it("matches an oversized answer without a readable id to the one request waiting", async () => {
    const { request, answerTo } = await start();
    await request(7, { bytes: 2 * LIMIT, order: "none" });
    expect(await answerTo(7)).toMatchObject({ error: { message: expect.stringContaining("dropped") } });
  });

  it("does not match an oversized answer to a request given up on", async () => {
    const { request, answerTo, transport: started } = await start();
    await request(1, { kind: "silent" });
    await started.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } });
    await request(2, { bytes: 2 * LIMIT, order: "none" });
    expect(await answerTo(2)).toMatchObject({ error: { message: expect.stringContaining("dropped") } });
  });

  it("drops an oversized notification with an error naming the setting, answering no request", async () => {
    const { request, answerTo, messages, errors } = await start();
    await request(1, { bytes: 2 * LIMIT, kind: "notification" });
    await waitFor(() => errors.length > 0, "an error");
    expect(errors[0]?.message).toContain("skillsmith.servers.raw.maxMessageBytes");
    expect(messages).toEqual([]);
    await request(2, { bytes: 10, order: "sdk" });
    expect(await answerTo(2)).toMatchObject({ result: { text: "x".repeat(10) } });
  });
});
