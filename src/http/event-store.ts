import type { EventId, EventStore, StreamId } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export interface EventStoreLimits {
  /** Most events kept; the oldest go first. */
  maxEvents: number;
  /** Most bytes of serialized messages kept; the newest event is kept even when it alone is larger. */
  maxBytes: number;
}

/** Per session: enough to cover a dropped connection, while a thousand sessions still fit in memory. */
export const SESSION_EVENT_LIMITS: EventStoreLimits = { maxEvents: 500, maxBytes: 2 * 1024 * 1024 };

interface StoredEvent {
  streamId: StreamId;
  seq: number;
  json: string;
  bytes: number;
}

/**
 * The events of one session's SSE streams, so a client that reconnects with Last-Event-ID gets what it missed.
 * One store per session: an event id from another session is simply unknown here, never replayed across.
 */
export interface SessionEventStore extends EventStore {
  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined>;
  /** Forgets every event; the session has ended. */
  clear(): void;
}

export function createSessionEventStore(limits: EventStoreLimits = SESSION_EVENT_LIMITS): SessionEventStore {
  // A Map keeps insertion order, so its first entry is always the oldest event.
  const events = new Map<EventId, StoredEvent>();
  let seq = 0;
  let bytes = 0;

  const evict = () => {
    while (events.size > 1 && (events.size > limits.maxEvents || bytes > limits.maxBytes)) {
      const [oldest, event] = events.entries().next().value as [EventId, StoredEvent];
      events.delete(oldest);
      bytes -= event.bytes;
    }
  };

  return {
    async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
      seq += 1;
      const json = JSON.stringify(message);
      const event = { streamId, seq, json, bytes: Buffer.byteLength(json) };
      const id = String(seq);
      events.set(id, event);
      bytes += event.bytes;
      evict();
      return id;
    },

    async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
      return events.get(eventId)?.streamId;
    },

    async replayEventsAfter(lastEventId, { send }): Promise<StreamId> {
      const last = events.get(lastEventId);
      if (!last) throw new Error(`Event ${lastEventId} is no longer stored; send a new request instead`);
      for (const [id, event] of events) {
        // An empty message is a priming event: a cursor for the client, not a message to deliver again.
        if (event.streamId === last.streamId && event.seq > last.seq && event.json !== "{}") {
          await send(id, JSON.parse(event.json) as JSONRPCMessage);
        }
      }
      return last.streamId;
    },

    clear() {
      events.clear();
      bytes = 0;
    },
  };
}
