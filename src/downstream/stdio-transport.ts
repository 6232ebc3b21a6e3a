import { type ChildProcess, spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { guardGroup } from "./watchdog.js";
import { windowsInvocation } from "./windows-command.js";

/** POSIX only: a child leads its own process group, so the whole group (an `npx` wrapper's server too) is signalled. */
const OWN_GROUP = process.platform !== "win32";

/** How long a closing server gets after stdin ends, then after SIGTERM, before the next step. */
const STOP_STEP_MS = 2000;

/** How much of an oversized line is kept at each end to find its JSON-RPC id. */
const EDGE_BYTES = 4096;

export interface StdioChildOptions {
  /** The server's name in mcp.json, for error messages. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The longest line (one JSON-RPC message) the server may send. */
  maxMessageBytes: number;
}

interface Oversized {
  bytes: number;
  head: Buffer;
  tail: Buffer;
}

type Id = string | number;

/**
 * Splits a byte stream into lines of at most `limit` bytes. A longer line is never held whole: its first and last
 * `EDGE_BYTES` are kept (where a JSON-RPC message's id is) and the rest is counted and dropped.
 */
class LineReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private oversized: Oversized | undefined;

  constructor(
    private readonly limit: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onOversized: (line: Oversized) => void,
  ) {}

  push(chunk: Buffer): void {
    for (let start = 0; ; ) {
      const newline = chunk.indexOf(10, start);
      this.add(chunk.subarray(start, newline === -1 ? chunk.length : newline));
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.oversized) {
      this.oversized.bytes += piece.length;
      this.oversized.tail = Buffer.from(Buffer.concat([this.oversized.tail, piece]).subarray(-EDGE_BYTES));
      return;
    }
    if (this.length + piece.length <= this.limit) {
      this.chunks.push(piece);
      this.length += piece.length;
      return;
    }
    const whole = Buffer.concat([...this.chunks, piece]);
    this.oversized = {
      bytes: whole.length,
      head: Buffer.from(whole.subarray(0, EDGE_BYTES)),
      tail: Buffer.from(whole.subarray(-EDGE_BYTES)),
    };
    this.chunks = [];
    this.length = 0;
  }

  private finishLine(): void {
    const { oversized } = this;
    if (oversized) {
      this.oversized = undefined;
      this.onOversized(oversized);
      return;
    }
    const line = Buffer.concat(this.chunks);
    this.chunks = [];
    this.length = 0;
    this.onLine(line);
  }
}

const STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const PRIMITIVE = String.raw`${STRING}|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null`;

/**
 * The top-level members at the start of a JSON object cut short, up to the first nested value: its key is
 * listed with the value undefined. Python and Rust servers write `{"jsonrpc", "id", "result"}` in that order.
 */
function leadingMembers(text: string): Map<string, unknown> {
  const members = new Map<string, unknown>();
  const open = /^\s*\{\s*/y;
  if (!open.exec(text)) return members;
  const member = new RegExp(String.raw`(${STRING})\s*:\s*(?:(${PRIMITIVE})\s*(,|\})\s*)?`, "y");
  member.lastIndex = open.lastIndex;
  for (let found = member.exec(text); found; found = member.exec(text)) {
    const [, key = '""', value, separator] = found;
    members.set(JSON.parse(key) as string, value === undefined ? undefined : JSON.parse(value));
    if (separator !== ",") break;
  }
  return members;
}

/** The id closing a JSON object, as the TypeScript SDK writes a response: `{"result": …, "jsonrpc": "2.0", "id": 7}`. */
function trailingId(text: string): unknown {
  const found = new RegExp(String.raw`"id"\s*:\s*(-?\d+|${STRING})\s*\}\s*$`).exec(text);
  return found?.[1] === undefined ? undefined : JSON.parse(found[1]);
}

const isRequest = (message: JSONRPCMessage): message is JSONRPCMessage & { id: Id; method: string } =>
  "method" in message && "id" in message;
const isResponse = (message: JSONRPCMessage): message is JSONRPCMessage & { id: Id } =>
  !("method" in message) && "id" in message;

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    // ESRCH: none left. EPERM: a member we may not signal anyway, so waiting for it would only delay the close.
    return false;
  }
};

/** Polls until `done`, or `ms` have passed; says which. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/**
 * An MCP client transport over a child's stdin and stdout, like the SDK's StdioClientTransport with two changes.
 * A message longer than `maxMessageBytes` fails only the request it answers (the SDK's transport drops the whole
 * connection, and every call in flight with it). On POSIX the child leads its own process group, and closing ends
 * the group: a server behind a wrapper (`npx`, a shell script) or one that ignores the end of stdin is not left
 * behind; a watchdog ends the group even if the gateway is killed outright (see watchdog.ts).
 */
export class StdioChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private released: (() => Promise<void>) | undefined;
  /** Our requests not answered yet: an oversized answer is matched to one of them. */
  private readonly pending = new Set<Id>();
  private readonly stderrStream = new PassThrough();
  private readonly reader: LineReader;

  constructor(private readonly server: StdioChildOptions) {
    this.reader = new LineReader(
      server.maxMessageBytes,
      (line) => this.receiveLine(line),
      (line) => this.receiveOversized(line),
    );
  }

  /** The child's stderr, available before start so no early line is lost. */
  get stderr(): PassThrough {
    return this.stderrStream;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    if (this.child) throw new Error("StdioChildTransport already started");
    const { cwd } = this.server;
    const env = { ...getDefaultEnvironment(), ...this.server.env };
    const windows = process.platform === "win32";
    const { command, args, verbatim } = windows
      ? windowsInvocation(this.server.command, this.server.args, env, cwd)
      : { ...this.server, verbatim: false };
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env,
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        windowsHide: windows,
        windowsVerbatimArguments: verbatim,
        cwd,
        detached: OWN_GROUP,
      });
      this.child = child;
      child.on("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on("spawn", () => {
        if (OWN_GROUP && child.pid !== undefined) this.released = guardGroup(child.pid);
        resolve();
      });
      child.on("close", () => {
        // It exited on its own (a crash): what it started in its group has no one to talk to any more.
        if (this.child === child) {
          this.child = undefined;
          void this.stop(child);
        }
        this.pending.clear();
        this.onclose?.();
      });
      child.stdin?.on("error", (error) => this.onerror?.(error));
      child.stdout?.on("data", (chunk: Buffer) => this.reader.push(chunk));
      child.stdout?.on("error", (error) => this.onerror?.(error));
      child.stderr?.pipe(this.stderrStream);
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin) throw new Error("Not connected");
    if (isRequest(message)) this.pending.add(message.id);
    // A request we gave up on (timeout, abort) waits for no answer, and must not be guessed as the one answered.
    else if ("method" in message && message.method === "notifications/cancelled") {
      this.pending.delete(message.params?.requestId as Id);
    }
    if (!stdin.write(`${JSON.stringify(message)}\n`)) {
      await new Promise((resolve) => stdin.once("drain", resolve));
    }
  }

  /** Ends stdin (the MCP way to ask a stdio server to exit), then SIGTERM, then SIGKILL, each after 2 s. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    await this.stop(child);
  }

  private async stop(child: ChildProcess): Promise<void> {
    const pid = child.pid;
    try {
      child.stdin?.end();
    } catch {
      // A broken pipe: the signals below still end it.
    }
    if (pid !== undefined) {
      const exited = () => child.exitCode !== null || child.signalCode !== null;
      // With its own group, the group's end is what counts: a wrapper's server may outlive the wrapper.
      const done = OWN_GROUP ? () => exited() && !groupAlive(pid) : exited;
      const signal = (name: NodeJS.Signals) => {
        try {
          if (OWN_GROUP) process.kill(-pid, name);
          else child.kill(name);
        } catch {
          // Gone between the check and the signal.
        }
      };
      if (!(await until(done, STOP_STEP_MS))) signal("SIGTERM");
      if (!(await until(done, STOP_STEP_MS))) signal("SIGKILL");
    }
    const released = this.released;
    this.released = undefined;
    await released?.();
  }

  /** Hands a message on; a handler that throws fails that message, never the stream of those after it. */
  private deliver(message: JSONRPCMessage): void {
    try {
      this.onmessage?.(message);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private receiveLine(line: Buffer): void {
    const text = line.toString("utf8").replace(/\r$/, "");
    if (!text.trim()) return;
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(text));
    } catch (error) {
      this.onerror?.(
        new Error(
          `server "${this.server.name}" wrote a line that is not a JSON-RPC message: ${String(error)}`,
        ),
      );
      return;
    }
    if (isResponse(message)) this.pending.delete(message.id);
    this.deliver(message);
  }

  /** Answers the request an oversized message answers with an error, so that call fails and the others go on. */
  private receiveOversized({ bytes, head, tail }: Oversized): void {
    const { name, maxMessageBytes } = this.server;
    const setting = `skillsmith.servers.${name}.maxMessageBytes`;
    const leading = leadingMembers(head.toString("utf8"));
    // A request or notification of the server's own (it leads with "method") answers none of ours.
    const id = leading.has("method") ? null : (leading.get("id") ?? trailingId(tail.toString("utf8")));
    // An id we cannot read still names the request when only one is waiting.
    const [only] = id === undefined && this.pending.size === 1 ? this.pending : [];
    const answered = this.pending.has(id as Id) ? (id as Id) : only;
    const what = `server "${name}" sent a message of ${bytes} bytes, over the limit of ${maxMessageBytes} bytes (${setting})`;
    if (answered === undefined) {
      this.onerror?.(
        new Error(`${what}; it was dropped, and the connection kept. Raise ${setting} to accept it.`),
      );
      return;
    }
    this.pending.delete(answered);
    this.deliver({
      jsonrpc: "2.0",
      id: answered,
      error: {
        code: ErrorCode.InternalError,
        message:
          `the answer was dropped: ${what}. The server stays connected. ` +
          `Ask for less (a narrower query, a page at a time), or raise ${setting} in mcp.json.`,
      },
    });
  }
}
