import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gateway } from "../gateway.js";
import type { Guard } from "../http/guard.js";
import type { Logger } from "../logger.js";
import { type ApiError, createConsoleApi, sendJson } from "./console-api.js";
import { createStaticAssets } from "./static-assets.js";

/** The web console under `/`: its page and assets (no data, so no token) and its JSON API under `/api/`. */
export interface ConsoleHandler {
  handle(req: IncomingMessage, res: ServerResponse, guard: Guard): Promise<void>;
}

export function createConsole(gateway: Gateway, logger: Logger): ConsoleHandler {
  const assets = createStaticAssets();
  const api = createConsoleApi(gateway, logger);
  return {
    async handle(req, res, guard) {
      const url = new URL(req.url ?? "/", "http://console.invalid");
      if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
        const refused = guard.caller(req);
        if (refused) {
          const error: ApiError = {
            code: refused.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN",
            message: refused.message,
          };
          sendJson(res, refused.status, { error }, refused.headers);
          return;
        }
        await api.handle(req, res, url);
        return;
      }
      await assets.serve(req, res, url.pathname);
    },
  };
}
