import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";

/** The requests a client sent over one server transport and has no answer to yet. */
export interface RequestTracker {
  readonly open: number;
  /** From now on, answers each new request at once with this error; answers and notifications still pass. */
  refuse(reason: string): void;
  /** Resolves once no request is open. */
  idle(): Promise<void>;
  /** Answers every open request with this error; a late answer of the server to one of them is dropped. */
  fail(reason: string): Promise<void>;
}

/**
 * Watches the requests going through a server transport that an MCP server is connected to (call it after
 * `connect`, which installs the server's handler this one wraps), so a shutdown can wait for them and answer
 * those left over.
 */
export function trackRequests(transport: Transport, logger: Logger): RequestTracker {
  const open = new Set<RequestId>();
  /** Requests answered with an error here: the server's own answer, when it comes, must not be a second one. */
  const failed = new Set<RequestId>();
  const waiters = new Set<() => void>();
  let refusal: string | undefined;
  const handle = transport.onmessage;
  const send = transport.send.bind(transport);

  const answer = (id: RequestId, message: string) =>
    send(
      { jsonrpc: "2.0", id, error: { code: ErrorCode.InternalError, message } },
      { relatedRequestId: id },
    ).catch((error: unknown) => logger.debug(`could not answer request ${id}: ${errorMessage(error)}`));

  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) {
      if (refusal !== undefined) {
        void answer(message.id, refusal);
        return;
      }
      open.add(message.id);
    }
    handle?.(message, extra);
  };
  transport.send = async (message, options) => {
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
      if (failed.delete(message.id)) return;
      open.delete(message.id);
      if (open.size === 0) for (const waiter of [...waiters]) waiter();
    }
    return send(message, options);
  };

  return {
    get open() {
      return open.size;
    },
    refuse(reason) {
      refusal = reason;
    },
    idle() {
      if (open.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = () => {
          waiters.delete(waiter);
          resolve();
        };
        waiters.add(waiter);
      });
    },
    async fail(reason) {
      const left = [...open];
      open.clear();
      for (const id of left) failed.add(id);
      await Promise.all(left.map((id) => answer(id, reason)));
    },
  };
}

/**
 * A graceful stop: new requests are refused, the open ones get `graceMs` to finish, and those still open then
 * are answered with an error naming the setting, so no client is left waiting for its own timeout.
 */
export async function drainRequests(
  trackers: RequestTracker[],
  graceMs: number,
  logger: Logger,
): Promise<void> {
  for (const tracker of trackers) {
    tracker.refuse(
      "Skillsmith is shutting down and takes no new requests; send it again once the gateway is back.",
    );
  }
  const open = trackers.reduce((sum, tracker) => sum + tracker.open, 0);
  if (open === 0) return;
  logger.info(
    `shutting down: ${open} requests in flight get up to ${graceMs} ms (skillsmith.shutdownGraceMs)`,
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(trackers.map((tracker) => tracker.idle())),
    new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
  const left = trackers.reduce((sum, tracker) => sum + tracker.open, 0);
  if (left === 0) return;
  logger.warn(
    `shutting down: ${left} of ${open} requests did not finish in ${graceMs} ms; answering them with an error`,
  );
  await Promise.all(
    trackers.map((tracker) =>
      tracker.fail(
        `Skillsmith shut down before this request finished: requests in flight get ${graceMs} ms ` +
          "(skillsmith.shutdownGraceMs in mcp.json; raise it to give them longer). Send it again once the gateway is back.",
      ),
    ),
  );
}
