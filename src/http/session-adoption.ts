import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

/** What another instance needs to serve a session it did not start: the client's initialize parameters. */
export const sessionRecordSchema = z.object({
  initialize: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/** An id no client request carries: the answer to the replayed initialize goes nowhere. */
const REPLAY_ID = "skillsmith-adopted-session";

/**
 * Makes a fresh transport and server serve session `id`, started on another instance: the transport takes the id
 * as initialized, and the server hears the client's initialize again (its answer is dropped: the client has it).
 * The SDK has no public way to do this yet (typescript-sdk PR #1668 proposes `existingSessionId`), so this sets
 * the transport's two fields itself, and reports false when their names changed rather than guessing.
 */
export function adoptSession(
  transport: StreamableHTTPServerTransport,
  server: Server,
  id: string,
  record: SessionRecord,
): boolean {
  const inner = (transport as unknown as { _webStandardTransport?: Record<string, unknown> })
    ._webStandardTransport;
  if (!inner || typeof inner._initialized !== "boolean") return false;
  inner.sessionId = id;
  inner._initialized = true;
  // Roots are asked of the client over its event stream, which is on the instance it started on: not offered here.
  const { roots: _roots, ...capabilities } = (record.initialize.capabilities ?? {}) as Record<
    string,
    unknown
  >;
  transport.onmessage?.({
    jsonrpc: "2.0",
    id: REPLAY_ID,
    method: "initialize",
    params: { ...record.initialize, capabilities },
  });
  transport.onmessage?.({ jsonrpc: "2.0", method: "notifications/initialized" });
  return server.transport === transport;
}
