import type { StateStore } from "../store/state-store.js";
import { type SessionRecord, sessionRecordSchema } from "./session-adoption.js";

const SESSIONS = "http-sessions";
const CLOSED_CHANNEL = "http-sessions-closed";

/** The sessions every instance may serve, in the shared store; each expires when idle for `idleMs` everywhere. */
export interface SessionDirectory {
  record(id: string, record: SessionRecord): Promise<void>;
  /** Keeps a session in use alive for another idle time (fire and forget). */
  touch(id: string, record: SessionRecord): void;
  find(id: string): Promise<SessionRecord | undefined>;
  /** The client ended the session (DELETE): every instance drops its copy. */
  forget(id: string): Promise<void>;
  onForgotten(listener: (id: string) => void): () => void;
}

export function createSessionDirectory(store: StateStore, idleMs: number): SessionDirectory {
  const sessions = store.namespace<unknown>(SESSIONS);
  return {
    record: async (id, record) => {
      await sessions.set(id, record, idleMs);
    },
    touch(id, record) {
      sessions
        .set(id, record, idleMs)
        .catch((error: unknown) =>
          store.reportFailure(SESSIONS, `could not keep session ${id} alive`, error),
        );
    },
    async find(id) {
      try {
        const parsed = sessionRecordSchema.safeParse(await sessions.get(id));
        return parsed.success ? parsed.data : undefined;
      } catch (error) {
        store.reportFailure(SESSIONS, "a session lookup failed and was answered as unknown", error);
        return undefined;
      }
    },
    async forget(id) {
      try {
        await sessions.delete(id);
        await store.publish(CLOSED_CHANNEL, id);
      } catch (error) {
        store.reportFailure(SESSIONS, `could not forget session ${id}`, error);
      }
    },
    onForgotten: (listener) => store.subscribe(CLOSED_CHANNEL, listener),
  };
}
