import type { IncomingMessage } from "node:http";

export type JsonBody =
  | { kind: "json"; value: unknown }
  | { kind: "tooLarge" }
  | { kind: "invalid"; reason: string }
  /** The client went away before the body ended; there is no one left to answer. */
  | { kind: "gone" };

/**
 * Reads a request body of at most `maxBytes` and parses it as JSON. Past the limit nothing more is kept, but the
 * rest is still read and dropped, so the client gets the answer instead of a reset connection.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  if (Number(req.headers["content-length"]) > maxBytes) {
    req.resume();
    return Promise.resolve({ kind: "tooLarge" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        resolve({ kind: "tooLarge" });
      } else {
        chunks.push(chunk);
      }
    });
    // A client that goes away mid-body leaves no "end"; without this the promise would wait forever.
    req.on("close", () => resolve({ kind: "gone" }));
    req.on("end", () => {
      if (size > maxBytes) return;
      try {
        resolve({ kind: "json", value: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      } catch (error) {
        resolve({ kind: "invalid", reason: (error as Error).message });
      }
    });
  });
}
