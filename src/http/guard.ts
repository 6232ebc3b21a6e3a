import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Why a request is refused, for whichever endpoint answers it in its own format. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** The checks every HTTP endpoint shares (/mcp and the console): Host, Origin, bearer token. */
export interface Guard {
  /** On loopback, the Host header must name loopback too (DNS rebinding). */
  host(req: IncomingMessage): Refusal | undefined;
  /** A browser page from elsewhere is refused; then the bearer token, when one is set. */
  caller(req: IncomingMessage): Refusal | undefined;
}

export const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The hostname of a Host header or an Origin, without IPv6 brackets; undefined when it does not parse. */
export function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return undefined;
  }
}

/**
 * A browser page may reach the gateway from a loopback origin, or from the gateway's own origin (the console
 * it serves); any other page is refused (DNS rebinding, drive-by calls).
 */
function originAllowed(req: IncomingMessage): boolean {
  const { origin, host } = req.headers;
  if (origin === undefined) return true;
  if (LOOPBACK.has(hostnameOf(origin) ?? "")) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function createGuard(options: { host: string; token?: string }): Guard {
  const checkHost = LOOPBACK.has(options.host);
  const { token } = options;
  return {
    host(req) {
      if (!checkHost || LOOPBACK.has(hostnameOf(`http://${req.headers.host ?? ""}`) ?? "")) return undefined;
      return {
        status: 403,
        message: `Host ${req.headers.host ?? "(none)"} is not allowed: use 127.0.0.1 or localhost`,
      };
    },
    caller(req) {
      if (!originAllowed(req)) return { status: 403, message: `Origin ${req.headers.origin} is not allowed` };
      if (token && !sameToken(req.headers.authorization ?? "", `Bearer ${token}`)) {
        return {
          status: 401,
          message: "Missing or wrong bearer token",
          headers: { "www-authenticate": "Bearer" },
        };
      }
      return undefined;
    },
  };
}
