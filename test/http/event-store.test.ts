import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { createSessionEventStore } from "../../src/http/event-store.js";

const note = (n: number, pad = ""): JSONRPCMessage => ({
  jsonrpc: "2.0",
  method: "notifications/message",
  params: { n, pad },
});

async function replayAfter(store: ReturnType<typeof createSessionEventStore>, id: string) {
  const sent: Array<[string, JSONRPCMessage]> = [];
  const stream = await store.replayEventsAfter(id, {
    send: async (eventId, message) => {
      sent.push([eventId, message]);
    },
  });
  return { stream, sent };
}

describe("the event store of one session", () => {
  it("replays, in order, the later events of the same stream only, skipping priming events", async () => {
    const store = createSessionEventStore();
    const first = await store.storeEvent("a", note(1));
    await store.storeEvent("b", note(2));
    const third = await store.storeEvent("a", note(3));
    await store.storeEvent("a", {} as JSONRPCMessage);
    const fifth = await store.storeEvent("a", note(5));
    expect(await store.getStreamIdForEventId(first)).toBe("a");
    const { stream, sent } = await replayAfter(store, first);
    expect(stream).toBe("a");
    expect(sent).toEqual([
      [third, note(3)],
      [fifth, note(5)],
    ]);
  });

  it("keeps at most maxEvents, dropping the oldest", async () => {
    const store = createSessionEventStore({ maxEvents: 3, maxBytes: 1e6 });
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push(await store.storeEvent("a", note(n)));
    expect(await store.getStreamIdForEventId(ids[1] ?? "")).toBeUndefined();
    await expect(replayAfter(store, ids[1] ?? "")).rejects.toThrow(/no longer stored/);
    const { sent } = await replayAfter(store, ids[2] ?? "");
    expect(sent.map(([, m]) => m)).toEqual([note(3), note(4)]);
  });

  it("keeps at most maxBytes, but always the newest event", async () => {
    const store = createSessionEventStore({ maxEvents: 100, maxBytes: 2000 });
    const small = await store.storeEvent("a", note(1));
    const big = await store.storeEvent("a", note(2, "x".repeat(5000)));
    expect(await store.getStreamIdForEventId(small)).toBeUndefined();
    expect(await store.getStreamIdForEventId(big)).toBe("a");
    const after = await store.storeEvent("a", note(3));
    expect(await store.getStreamIdForEventId(big)).toBeUndefined();
    expect(await store.getStreamIdForEventId(after)).toBe("a");
  });

  it("forgets everything when cleared, and knows nothing of ids it never gave", async () => {
    const store = createSessionEventStore();
    const id = await store.storeEvent("a", note(1));
    expect(await store.getStreamIdForEventId("__proto__")).toBeUndefined();
    store.clear();
    expect(await store.getStreamIdForEventId(id)).toBeUndefined();
  });
});
