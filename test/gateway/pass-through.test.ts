import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import {
  type CallToolResult,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server.js";
import {
  type RunView,
  realServers,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

/**
 * What a downstream server sends about a call — progress, log messages, elicitation and sampling requests —
 * reaches the client whose request made the call, and that client's roots reach the servers. The real
 * everything server asks for all of these; a fixture logs on demand, which no real server does.
 */
describe("pass-through between a downstream server and the client that called it", () => {
  let dir: string;
  let rich: TestGateway;
  /** A second client of the same gateway that declares none of the capabilities. */
  let plain: Client;
  const elicited: string[] = [];
  const sampled: string[] = [];
  const logged: unknown[] = [];

  const mcpJson = () => ({
    mcpServers: {
      everything: { command: process.execPath, args: [realServers.everything] },
      chatty: fixtureEntry("chatty-server"),
    },
    skillsmith: { store: "memory:" },
  });

  beforeAll(async () => {
    dir = await tempDir();
    const client = new Client(
      { name: "rich-client", version: "0" },
      { capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } },
    );
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request.params.message);
      return { action: "accept", content: { name: "Ada Lovelace" } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      sampled.push(JSON.stringify(request.params.messages));
      return { role: "assistant", model: "test-model", content: { type: "text", text: "forty-two" } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: `file://${path.join(dir, "project")}`, name: "the project" }],
    }));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logged.push(n.params.data);
    });
    rich = await startGateway(mcpJson(), dir, { client });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createServer(rich.gateway).connect(serverSide);
    plain = new Client({ name: "plain-client", version: "0" });
    await plain.connect(clientSide);
    const saved = await rich.call("save_skill", {
      name: "ask-and-wait",
      description: "Waits on a long operation, then asks the user for their name.",
      code: `export default async (input, { call, step }) => {
        await step("wait", () => call("everything.trigger-long-running-operation", { duration: 0.3, steps: 3 }));
        return step("ask", () => call("everything.trigger-elicitation-request", {}));
      }`,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
  });
  afterAll(async () => {
    await plain?.close();
    await rich?.close();
    await removeDir(dir);
  });
  const callPlain = async (name: string, args: Record<string, unknown>) =>
    (await plain.callTool({ name, arguments: args })) as CallToolResult;

  it("relays a tool's progress and elicitation during a skill run, under the run's progress token", async () => {
    const progress: Progress[] = [];
    const result = (await rich.client.callTool(
      { name: "run_skill", arguments: { name: "ask-and-wait" } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(JSON.stringify((result.structuredContent as unknown as RunView).result)).toContain("Ada Lovelace");
    expect(elicited.length).toBeGreaterThan(0);
    // The operation's own steps arrive between the skill's step notifications, always increasing. (Its last
    // one may come in the same read as its answer, and the SDK client drops progress after the answer.)
    const fromTool = progress.filter((p) => !p.message?.startsWith("step "));
    expect(fromTool.length).toBeGreaterThanOrEqual(1);
    const values = progress.map((p) => p.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
  });

  it("refuses a tool's elicitation cleanly for a client that cannot answer one", async () => {
    const result = await callPlain("run_skill", { name: "ask-and-wait" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("did not declare the elicitation capability");
    expect(textOf(result)).not.toMatch(/MCP error -?\d+: MCP error/);
  });

  it("relays a tool's sampling request to the client and its answer back", async () => {
    const result = await rich.call("probe_tool", {
      tool: "everything.trigger-sampling-request",
      arguments: { prompt: "What is six times seven?", maxTokens: 20 },
      allowSideEffects: true,
    });
    // probe: "readOnly" refuses a tool that may write; a skill's call is the way.
    expect(textOf(result)).toContain("PROBE_REFUSED");
    const ran = await rich.call("save_skill", {
      name: "ask-the-model",
      description: "Asks the client's model a question through the everything server.",
      code: `export default async (input, { call }) =>
        call("everything.trigger-sampling-request", { prompt: input.prompt, maxTokens: 20 });`,
      test: { input: { prompt: "What is six times seven?" } },
    });
    expect(ran.isError, textOf(ran)).toBeFalsy();
    expect(sampled.some((m) => m.includes("six times seven"))).toBe(true);
    expect(JSON.stringify(ran.structuredContent)).toContain("forty-two");
  });

  it("offers the client's roots to the downstream servers", async () => {
    const probed = await rich.call("probe_tool", { tool: "everything.get-roots-list", arguments: {} });
    expect(probed.isError, textOf(probed)).toBeFalsy();
    expect(JSON.stringify(probed.structuredContent)).toContain(path.join(dir, "project"));
  });

  it("passes a tool's log messages to the client whose call it was, and to no other", async () => {
    const before = logged.length;
    const probed = await rich.call("probe_tool", {
      tool: "chatty.report",
      arguments: { text: "halfway there" },
    });
    expect(probed.isError, textOf(probed)).toBeFalsy();
    expect(logged.slice(before)).toContain("halfway there");

    const quiet = await callPlain("probe_tool", {
      tool: "chatty.report",
      arguments: { text: "for the plain client" },
      fresh: true,
    });
    expect(quiet.isError, textOf(quiet)).toBeFalsy();
    expect(logged).not.toContain("for the plain client");
  });

  it("returns an image a probed tool sends as the image itself, beside its shape", async () => {
    const probed = await rich.call("probe_tool", { tool: "everything.get-tiny-image", arguments: {} });
    expect(probed.isError, textOf(probed)).toBeFalsy();
    const image = probed.content.find((b) => b.type === "image");
    expect(image).toMatchObject({ type: "image", mimeType: "image/png" });
    expect((image as { data: string }).data.length).toBeGreaterThan(100);
    expect(textOf(probed)).toContain("base64Chars");
  });
});
