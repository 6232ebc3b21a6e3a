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

export interface LoadOptions {
  url: string;
  sessions: number;
  /** How long every session keeps calling, after all have connected. */
  seconds: number;
  /** Called in turn by each session (session s starts at operation s, so the mix holds at any count). */
  operations: Operation[];
  /** At most this many calls in all (a bound beside the time). */
  maxCalls?: number;
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

/** Opens the sessions (in batches of 10), drives them for `seconds`, closes them. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < options.sessions; i += 10) {
      const batch = Math.min(10, options.sessions - i);
      clients.push(...(await Promise.all(Array.from({ length: batch }, () => connect(options.url)))));
    }
    const latencies = new Map<string, number[]>(options.operations.map((op) => [op.name, []]));
    const errorSamples: string[] = [];
    let errors = 0;
    let calls = 0;
    const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
    const started = performance.now();
    const until = started + options.seconds * 1000;
    await Promise.all(
      clients.map(async (client, s) => {
        for (let i = s; performance.now() < until && calls < maxCalls; i++) {
          const op = options.operations[i % options.operations.length] as Operation;
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
    const seconds = (performance.now() - started) / 1000;
    const all = [...latencies.values()].flat();
    return {
      sessions: options.sessions,
      seconds,
      calls,
      opsPerSecond: calls / seconds,
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
  } finally {
    await Promise.all(clients.map(disconnect));
  }
}
