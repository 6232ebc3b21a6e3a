/**
 * The paper's case study, end to end, through an MCP client only: a scripted agent saves every attachment of
 * the inbox messages from one sender into a OneDrive folder. Outlook and OneDrive fixtures (Graph-shaped answers)
 * stand among the 527 real tools of bench/data/livemcptool-tools.json, served over streamable HTTP by one
 * registry-server process, so discovery is not trivial.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type RunView,
  removeDir,
  startGateway,
  type TestGateway,
  tempDir,
  textOf,
} from "../helpers/gateway.js";
import { fixtureEntry } from "../helpers/processes.js";

const SKILL = "save-attachments-to-onedrive";

/** The agent's first draft: it guessed the answer of list_messages holds `messages`; Graph says `value`. */
const DRAFT = `
export default async function run(input, { call, step }) {
  const inbox = await step("list the sender's inbox messages with attachments", () =>
    call("outlook.list_messages", { folder: "inbox", from: input.sender, hasAttachments: true }));
  return inbox.messages.map((m) => m.subject);
}`;

/** The verified skill: one anchored step per message's uploads, so a failed run resumes after the last message saved. */
const CODE = `
export default async function run(input, { call, step, parallel, log }) {
  const folder = await step("find or create the OneDrive folder", async () => {
    try {
      return await call("onedrive.get_item_by_path", { path: "/" + input.folder });
    } catch {
      return call("onedrive.create_folder", { parentPath: "/", name: input.folder });
    }
  });
  const inbox = await step("list the sender's inbox messages with attachments", () =>
    call("outlook.list_messages", { folder: "inbox", from: input.sender, hasAttachments: true, top: 50 }));
  const messages = await step("collect the attachments", () =>
    parallel(inbox.value, async (m) => {
      const { value } = await call("outlook.list_attachments", { messageId: m.id });
      const files = value.filter((a) => a["@odata.type"] === "#microsoft.graph.fileAttachment" && !a.isInline);
      return { id: m.id, subject: m.subject, attachments: files.map((a) => ({ id: a.id, name: a.name, size: a.size })) };
    }, { concurrency: 3 }));
  const files = [];
  for (const m of messages) {
    const saved = await step('upload the attachments of "' + m.subject + '"', () =>
      parallel(m.attachments, async (a) => {
        const file = await call("outlook.get_attachment", { messageId: m.id, attachmentId: a.id });
        const item = await call("onedrive.upload_file", {
          parentId: folder.id, name: file.name, contentBytes: file.contentBytes, contentType: file.contentType,
        });
        return { name: item.name, size: item.size, webUrl: item.webUrl };
      }, { concurrency: input.concurrency ?? 4 }));
    files.push(...saved);
  }
  log("saved " + files.length + " files from " + messages.length + " messages into " + folder.name);
  return { folder: folder.name, webUrl: folder.webUrl, count: files.length, files: files.map((f) => f.name) };
}`;

const INPUT_SCHEMA = {
  type: "object",
  properties: {
    sender: { type: "string", description: "The sender: an email address, or part of their name." },
    folder: {
      type: "string",
      description: "The OneDrive folder (below the root) to save into; created if missing.",
    },
    concurrency: { type: "integer", minimum: 1, maximum: 8, description: "Uploads at once per message." },
  },
  required: ["sender", "folder"],
};

const listening = z.object({
  url: z.string(),
  servers: z.array(z.object({ name: z.string(), tools: z.number() })),
});

interface SearchView {
  results: Array<{ name: string; kind: string; returns?: string }>;
}

interface UploadLog {
  total: number;
  distinct: number;
  duplicates: Array<{ path: string; uploads: number }>;
}

type Registry = ChildProcessByStdio<null, Readable, Readable>;

/** Starts registry-server, serving every registry server over streamable HTTP from one process. */
function spawnRegistry(): Registry {
  const entry = fixtureEntry("registry-server", ["--http"]);
  return spawn(entry.command, entry.args, { stdio: ["ignore", "pipe", "pipe"] });
}

/** The JSON line registry-server prints once listening. */
async function listeningLine(child: Registry): Promise<z.infer<typeof listening>> {
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const lines = createInterface({ input: child.stdout });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) =>
        reject(new Error(`registry-server exited (${code}) before listening:\n${stderr}`)),
      );
    });
    return listening.parse(JSON.parse(line));
  } finally {
    lines.close();
    child.stdout.resume();
  }
}

describe("case study: save every attachment from one sender's inbox messages into OneDrive", () => {
  let dir: string;
  let failFile: string;
  let registry: Registry | undefined;
  let t: TestGateway;
  const ranks: Record<string, number> = {};

  beforeAll(async () => {
    dir = await tempDir("skillsmith-case-study-");
    failFile = path.join(dir, "fail-uploads");
    registry = spawnRegistry();
    const { url, servers } = await listeningLine(registry);
    expect(servers.reduce((n, s) => n + s.tools, 0)).toBe(527);
    const mcpServers: Record<string, unknown> = Object.fromEntries(
      servers.map((s) => [s.name, { url: `${url}/${encodeURIComponent(s.name)}` }]),
    );
    mcpServers.outlook = fixtureEntry("outlook-server");
    mcpServers.onedrive = {
      ...fixtureEntry("onedrive-server"),
      env: { ONEDRIVE_FAIL_UPLOADS_FILE: failFile },
    };
    t = await startGateway(
      {
        mcpServers,
        skillsmith: {
          store: "file:state",
          sandbox: { timeoutMs: 15_000 },
          servers: { onedrive: { concurrency: 4 } },
        },
      },
      dir,
    );
    // Every server answered: the fixtures' 4 + 5 tools beside the registry's 527.
    expect(t.gateway.catalog.tools().length).toBe(527 + 4 + 5);
  });

  afterAll(async () => {
    await t?.close();
    if (registry && registry.exitCode === null && registry.signalCode === null) {
      const exited = once(registry, "exit");
      registry.kill();
      await exited;
    }
    if (dir) await removeDir(dir);
    const lines = Object.entries(ranks).map(([found, rank]) => `  ${rank}  ${found}`);
    console.info(`case study, search ranks (1-based, of 10):\n${lines.join("\n")}`);
  });

  async function search(query: string, limit = 10): Promise<SearchView["results"]> {
    const found = await t.call("search_tools", { query, limit });
    expect(found.isError, textOf(found)).toBeFalsy();
    return (found.structuredContent as unknown as SearchView).results;
  }

  /**
   * Searches, records the rank (1-based, among tools) of each wanted tool, and expects each within `within`.
   * Tools only: once the skill is saved it ranks first for the job, and the tests run in any order.
   */
  async function expectFound(query: string, wanted: string[], within: number): Promise<void> {
    const names = (await search(query, 20)).filter((r) => r.kind === "tool").map((r) => r.name);
    for (const tool of wanted) {
      const rank = names.indexOf(tool) + 1;
      ranks[`${tool} ← "${query}"`] = rank;
      expect(rank, `${tool} for "${query}" in ${names.join(", ")}`).toBeGreaterThan(0);
      expect(rank, `${tool} for "${query}" in ${names.join(", ")}`).toBeLessThanOrEqual(within);
    }
  }

  async function probe(tool: string, args: Record<string, unknown> = {}) {
    const probed = await t.call("probe_tool", { tool, arguments: args, fresh: true });
    return {
      result: probed,
      view: probed.structuredContent as { ok: boolean; shape: string; sample: unknown },
    };
  }

  /** Asks the OneDrive fixture what it has accepted (a fresh read-only probe, never a cached one). */
  async function uploadLog(folder?: string): Promise<UploadLog> {
    const { result, view } = await probe("onedrive.list_uploads", folder === undefined ? {} : { folder });
    expect(result.isError, textOf(result)).toBeFalsy();
    return view.sample as UploadLog;
  }

  it("finds the Outlook and OneDrive tools it needs among the 527 others", async () => {
    const job = "save every attachment of the inbox messages from one sender into a OneDrive folder";
    await expectFound(job, ["outlook.list_messages", "outlook.list_attachments", "onedrive.upload_file"], 10);
    // The job split the way an agent would, one need at a time.
    await expectFound("list the email messages in my inbox from a sender", ["outlook.list_messages"], 3);
    await expectFound(
      "get the attachments of an email message",
      ["outlook.list_attachments", "outlook.get_attachment"],
      3,
    );
    await expectFound("upload a file into a OneDrive folder", ["onedrive.upload_file"], 3);
    await expectFound("create a folder in OneDrive", ["onedrive.create_folder"], 3);
  });

  let messageId: string;

  it("probes the list tools and sees Graph's shapes before writing code", async () => {
    const messages = await probe("outlook.list_messages", { from: "Adele Vance", hasAttachments: true });
    expect(messages.result.isError, textOf(messages.result)).toBeFalsy();
    for (const field of ["value:", "hasAttachments", "emailAddress", "receivedDateTime", "subject"]) {
      expect(messages.view.shape).toContain(field);
    }
    const first = (messages.view.sample as { value: Array<{ id: string }> }).value[0];
    messageId = first?.id ?? "";
    expect(messageId).not.toBe("");

    const files = await probe("outlook.list_attachments", { messageId });
    expect(files.result.isError, textOf(files.result)).toBeFalsy();
    for (const field of ["value:", "contentBytes", "contentType", "size", "name"]) {
      expect(files.view.shape).toContain(field);
    }

    const drive = await probe("onedrive.list_children", { path: "/" });
    expect(drive.result.isError, textOf(drive.result)).toBeFalsy();
    for (const field of ["value:", "parentReference", "webUrl", "folder"]) {
      expect(drive.view.shape).toContain(field);
    }

    // An upload may change something: probe_tool refuses it, as its annotations say.
    const refused = await t.call("probe_tool", {
      tool: "onedrive.upload_file",
      arguments: { name: "x", contentBytes: "" },
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/readOnlyHint/);

    // Later searches show what was observed.
    const again = await search("list the email messages in my inbox from a sender", 3);
    expect(again.find((r) => r.name === "outlook.list_messages")?.returns).toMatch(/value/);
  });

  /**
   * The save, with its checks, happens once, in whichever test needs the skill first: the tests that run it
   * do not depend on the order the tests are run in.
   */
  let saving: Promise<void> | undefined;
  const skillSaved = () => {
    saving ??= saveSkill();
    return saving;
  };

  /** Code first, save after: the agent runs its drafts ad hoc on one sender, then saves the run that worked. */
  async function saveSkill(): Promise<void> {
    const input = { sender: "AlexW@contoso.onmicrosoft.com", folder: "Skill test" };
    const draft = await t.call("run_skill", { code: DRAFT, input });
    expect(draft.isError).toBe(true);
    expect(textOf(draft)).toMatch(/TypeError: cannot read property 'map' of undefined/);

    const fixed = await t.call("run_skill", { code: CODE, input });
    const run = fixed.structuredContent as unknown as RunView;
    expect(run.ok, textOf(fixed)).toBe(true);
    expect(run.result).toMatchObject({ folder: "Skill test", count: 1, files: ["expenses-september.xlsx"] });
    // Ad-hoc runs leave no skill behind.
    expect((await t.client.listTools()).tools.map((tool) => tool.name)).not.toContain(SKILL);

    const saved = await t.call("save_skill", {
      name: SKILL,
      description:
        "Save every attachment of the inbox messages from one sender into a OneDrive folder (created if missing)",
      fromRun: run.runId,
      inputSchema: INPUT_SCHEMA,
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ name: SKILL, version: 1, fromRun: run.runId });
    expect([...(saved.structuredContent as { tools: string[] }).tools].sort()).toEqual([
      "onedrive.create_folder",
      "onedrive.get_item_by_path",
      "onedrive.upload_file",
      "outlook.get_attachment",
      "outlook.list_attachments",
      "outlook.list_messages",
    ]);
    // The save did not run the code again: one upload for the one file of the ad-hoc run.
    expect(await uploadLog("/Skill test")).toMatchObject({ total: 1, distinct: 1 });

    const listed = (await t.client.listTools()).tools.find((tool) => tool.name === SKILL);
    expect(listed?.inputSchema).toMatchObject({ required: ["sender", "folder"] });
    // Reusing the verified skill now beats rebuilding it from the tools.
    const found = await search(
      "save every attachment of the inbox messages from one sender into a OneDrive folder",
    );
    expect(found[0]).toMatchObject({ name: SKILL, kind: "skill" });
  }

  it("runs drafts ad hoc on one sender, then saves the run that worked", async () => {
    await skillSaved();
  });

  it("runs the skill for one sender, then as a tool of its own for another", async () => {
    await skillSaved();
    const run = await t.call("run_skill", {
      name: SKILL,
      input: { sender: "Adele Vance", folder: "From Adele" },
    });
    const view = run.structuredContent as unknown as RunView;
    expect(view.ok, textOf(run)).toBe(true);
    // Only inbox messages: Adele's archived invoice stays where it is.
    expect(view.result).toMatchObject({
      folder: "From Adele",
      count: 3,
      files: ["Q3-sales.pptx", "Q3-figures.xlsx", "Contract-Fabrikam-signed.pdf"],
    });
    expect(view.steps.map((s) => s.label)).toEqual([
      "find or create the OneDrive folder",
      "list the sender's inbox messages with attachments",
      "collect the attachments",
      'upload the attachments of "Q3 sales deck"',
      'upload the attachments of "Signed contract with Fabrikam"',
    ]);
    expect(view.steps.every((s) => !s.replayed)).toBe(true);
    expect(view.steps[1]?.shape).toContain("hasAttachments");

    const direct = await t.call(SKILL, { sender: "MeganB@contoso.onmicrosoft.com", folder: "From Megan" });
    const directView = direct.structuredContent as unknown as RunView;
    expect(directView.ok, textOf(direct)).toBe(true);
    expect(directView.result).toMatchObject({
      count: 3,
      files: ["offsite-1.jpg", "offsite-2.jpg", "offsite-3.jpg"],
    });

    const drive = await probe("onedrive.list_children", { path: "/From Megan" });
    expect((drive.view.sample as { value: unknown[] }).value).toHaveLength(3);
  });

  it("fails midway through the uploads, and resumes after the fix without uploading anything twice", async () => {
    await skillSaved();
    const input = { sender: "NestorW@contoso.onmicrosoft.com", folder: "Design review" };
    // The drive lets two more uploads through, then refuses: the first message's two files go up, the second's not.
    const before = await uploadLog();
    await writeFile(failFile, String(before.total + 2));

    const failed = await t.call("run_skill", { name: SKILL, input });
    expect(failed.isError).toBe(true);
    const failure = failed.structuredContent as unknown as RunView;
    expect(failure.ok).toBe(false);
    expect(failure.runId).toMatch(/\S/);
    expect(failure.error).toMatch(/serviceNotAvailable/);
    expect(failure.failedStep).toEqual({
      index: 4,
      label: 'upload the attachments of "Design review, part 2"',
    });
    expect(failure.steps.map((s) => s.label)).toEqual([
      "find or create the OneDrive folder",
      "list the sender's inbox messages with attachments",
      "collect the attachments",
      'upload the attachments of "Design review, part 3"',
    ]);
    expect(textOf(failed)).toContain(failure.runId);
    expect(await uploadLog("/Design review")).toMatchObject({ total: 2, distinct: 2 });

    // Fix the cause, then resume: the four completed steps come from the record, the rest runs live.
    await rm(failFile);
    const resumed = await t.call("run_skill", { name: SKILL, resume: failure.runId });
    const view = resumed.structuredContent as unknown as RunView;
    expect(view.ok, textOf(resumed)).toBe(true);
    expect(view.resumedFrom).toBe(failure.runId);
    expect(view.steps.map((s) => [s.index, s.replayed])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, true],
      [4, false],
      [5, false],
    ]);
    // Live calls only: get + upload for part 2's one file and part 1's two.
    expect(view.calls).toBe(6);
    expect(view.result).toMatchObject({
      folder: "Design review",
      count: 5,
      files: ["icons.zip", "palette.json", "style-guide.pdf", "wireframes.pdf", "mockup.png"],
    });

    expect(await uploadLog("/Design review")).toMatchObject({ total: 5, distinct: 5, duplicates: [] });
    // Over the whole case study so far (which runs came before depends on the order): each file uploaded once.
    const all = await uploadLog();
    expect(all.duplicates).toEqual([]);
    expect(all.distinct).toBe(all.total);
  });
});
