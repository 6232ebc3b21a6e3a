/**
 * The load driver: N concurrent MCP sessions over Streamable HTTP against one URL (a gateway, a balancer in
 * front of several, or a downstream server itself for the baseline), each calling one operation after another
 * for a bounded time. A target is just a URL, so one instance and two behind nginx are driven the same way.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { percentile } from "../stats.js";

/** One kind of call a session makes; it throws, or answers isError, when it failed. */
export interface Operation {
  name: string;
  call(client: Client, i: number): Promise<unknown>;
}

export interface LoadResult {
  sessions: number;
  seconds: number;
  calls: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** The first few error messages, for the log. */
  errorSamples: string[];
  /** Latencies by operation name. */
  byOperation: Map<string, { calls: number; p50: number; p99: number }>;
}

const clientInfo = { name: "skillsmith-load", version: "1.0.0" };

export async function connect(url: string): Promise<Client> {
  const client = new Client(clientInfo);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Ends the session on the server too (DELETE), so a load run leaves no sessions behind to idle out. */
export async function disconnect(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}

function failure(result: unknown): string | undefined {
  const r = result as CallToolResult | undefined;
  if (!r?.isError) return undefined;
  const text = (r.content ?? []).map((c) => (c.type === "text" ? c.text : "")).join(" ");
  return text.slice(0, 300) || "isError without text";
}

/**
 * Sessions of one target with what they measured so far: driven in phases (`drive`), so that two targets can take
 * turns and drift in the machine's load hits both alike.
 */
export interface SessionSet {
  drive(seconds: number, maxCalls?: number): Promise<void>;
  result(): LoadResult;
  close(): Promise<void>;
}

/** Opens `sessions` sessions to `url` (10 at a time); each cycles through `operations`, session s from operation s. */
export async function openSessions(
  url: string,
  sessions: number,
  operations: Operation[],
): Promise<SessionSet> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < sessions; i += 10) {
      const batch = Math.min(10, sessions - i);
      clients.push(...(await Promise.all(Array.from({ length: batch }, () => connect(url)))));
    }
  } catch (error) {
    await Promise.all(clients.map(disconnect));
    throw error;
  }
  const latencies = new Map<string, number[]>(operations.map((op) => [op.name, []]));
  const errorSamples: string[] = [];
  const next = clients.map((_, s) => s);
  let errors = 0;
  let calls = 0;
  let busyMs = 0;
  return {
    async drive(seconds, maxCalls = Number.POSITIVE_INFINITY) {
      const started = performance.now();
      const until = started + seconds * 1000;
      const limit = calls + maxCalls;
      await Promise.all(
        clients.map(async (client, s) => {
          while (performance.now() < until && calls < limit) {
            const i = next[s] ?? s;
            next[s] = i + 1;
            const op = operations[i % operations.length] as Operation;
            calls++;
            const t = performance.now();
            let problem: string | undefined;
            try {
              problem = failure(await op.call(client, i));
            } catch (error) {
              problem = error instanceof Error ? error.message : String(error);
            }
            latencies.get(op.name)?.push(performance.now() - t);
            if (problem !== undefined) {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(`${op.name}: ${problem}`);
            }
          }
        }),
      );
      busyMs += performance.now() - started;
    },
    result() {
      const all = [...latencies.values()].flat();
      return {
        sessions,
        seconds: busyMs / 1000,
        calls,
        opsPerSecond: calls / (busyMs / 1000),
        p50: percentile(all, 50),
        p99: percentile(all, 99),
        errors,
        errorSamples,
        byOperation: new Map(
          [...latencies].map(([name, ms]) => [
            name,
            { calls: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) },
          ]),
        ),
      };
    },
    close: () => Promise.all(clients.map(disconnect)).then(() => {}),
  };
}

/** One target alone: opens the sessions, drives them for `seconds` (or `maxCalls`), closes them. */
export async function runLoad(options: {
  url: string;
  sessions: number;
  seconds: number;
  operations: Operation[];
  maxCalls?: number;
}): Promise<LoadResult> {
  const set = await openSessions(options.url, options.sessions, options.operations);
  try {
    await set.drive(options.seconds, options.maxCalls);
    return set.result();
  } finally {
    await set.close();
  }
}
