import { randomBytes } from "node:crypto";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { StateStore } from "../store/state-store.js";

const ANSWERS_CHANNEL = "http-answers";
/** An instance's tag: 6 random bytes, in hex. */
const TAG_BYTES = 6;
const TAGGED = new RegExp(`^[0-9a-f]{${TAG_BYTES * 2}}:`);

/**
 * Shared sessions: a request a tool sends to the client (elicitation, sampling) waits on the instance that sent
 * it, but the client's answer is a new POST, which a balancer may send to any instance. Each instance tags the ids
 * of the requests it sends (`<instance>:<id>`, so two instances serving one session never send the same id); an
 * answer that arrives elsewhere is passed on through the store's pub/sub to the instance its id names.
 */
export interface AnswerRelay {
  /** Wraps the transport of a session, connected and with its id, before the server sends the client anything. */
  attach(transport: Transport, session: string): void;
  close(): void;
}

type Answer = Extract<JSONRPCMessage, { result: unknown } | { error: unknown }>;

const isAnswer = (message: JSONRPCMessage): message is Answer =>
  isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);

export function createAnswerRelay(store: StateStore, logger: Logger): AnswerRelay {
  const tag = randomBytes(TAG_BYTES).toString("hex");
  const prefix = `${tag}:`;
  /** This instance's session transports, by session id: where an answer passed on to it is delivered. */
  const delivered = new Map<string, (message: JSONRPCMessage) => void>();

  const stop = store.subscribe(ANSWERS_CHANNEL, (raw) => {
    let parsed: { session?: unknown; message?: unknown };
    try {
      parsed = JSON.parse(raw) as typeof parsed;
    } catch {
      return;
    }
    const { session, message } = parsed;
    if (typeof session !== "string" || message === null || typeof message !== "object") return;
    const id = (message as { id?: unknown }).id;
    if (typeof id === "string" && id.startsWith(prefix)) delivered.get(session)?.(message as JSONRPCMessage);
  });

  return {
    attach(transport, session) {
      const send = transport.send.bind(transport);
      transport.send = (message, options) =>
        send(isJSONRPCRequest(message) ? { ...message, id: `${prefix}${message.id}` } : message, options);
      const receive = transport.onmessage;
      if (!receive) return;
      /** An answer to one of this instance's requests, its id as the server sent it; others go on unchanged. */
      const deliver = (message: JSONRPCMessage, extra?: Parameters<typeof receive>[1]) => {
        if (isAnswer(message) && typeof message.id === "string" && message.id.startsWith(prefix)) {
          const local = Number(message.id.slice(prefix.length));
          receive({ ...message, id: Number.isInteger(local) ? local : message.id }, extra);
        } else {
          receive(message, extra);
        }
      };
      transport.onmessage = (message, extra) => {
        const id = isAnswer(message) ? message.id : undefined;
        if (typeof id === "string" && !id.startsWith(prefix) && TAGGED.test(id)) {
          store
            .publish(ANSWERS_CHANNEL, JSON.stringify({ session, message }))
            .catch((error: unknown) =>
              logger.warn(`could not pass an answer of session ${session} on: ${errorMessage(error)}`),
            );
          return;
        }
        deliver(message, extra);
      };
      delivered.set(session, deliver);
      const previous = transport.onclose;
      transport.onclose = () => {
        if (delivered.get(session) === deliver) delivered.delete(session);
        previous?.();
      };
    },
    close: stop,
  };
}
